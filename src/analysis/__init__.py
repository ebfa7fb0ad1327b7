"""Compare Indonesian desa with and without third-party partnerships on welfare indicators.

The package follows the data's journey, one folder per stage (``docs/architecture.md`` is the
map, with what each folder may import):

- :mod:`analysis.inputs`: the official village frame, village codes, reading the Ministry's
  workbooks, registries and covariates, checking them against the contracts, ingesting them into
  a data folder, and the synthetic example with known truth;
- :mod:`analysis.methods`: the estimators (descriptives, balance, cross-section, staggered
  difference-in-differences, inference, sensitivity, pooling), their options and their results;
- :mod:`analysis.report`: words (catalogs per language), figures, the brief, the synthesis, the
  index and data-quality pages, the HTML and PDF export;
- :mod:`analysis.batch`: many districts through papermill (runner, executors, kernels, slices,
  run state).

Shared by every stage: :mod:`analysis.schema` (data contracts), :mod:`analysis.design` (what is
compared), :mod:`analysis.errors`, :mod:`analysis.paths` and :mod:`analysis.files` (writing
outputs). :mod:`analysis.district` is the notebooks' face (one call per step),
:mod:`analysis.ingest` ingestion's (raw files -> a data folder with its data-quality page) and
:mod:`analysis.cli` the command line. Module names of the earlier flat layout
(``analysis.panel``, ``from analysis import brief``) still import (:mod:`analysis._moved`).
"""

from analysis import _moved

__version__ = "0.1.0"

_moved.install()
