"""Compare Indonesian desa with and without third-party partnerships on welfare indicators.

The package follows the data's journey, one module per step:

``frame`` (official village list) -> ``codes`` (village codes) -> ``ingest`` (raw files to
validated tables, per ``schema``) -> ``example_data`` (synthetic panel with known truth) ->
``design`` / ``describe`` / ``balance`` / ``crosssection`` / ``panel`` / ``heterogeneity`` /
``sensitivity`` / ``pooling`` (estimates) -> ``plots`` / ``report`` (figures, words and pages) ->
``district`` (one call per notebook step) -> ``run`` (papermill batch and HTML briefs).
"""

__version__ = "0.1.0"
