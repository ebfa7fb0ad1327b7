"""Old module names of the flat layout, kept importable for researchers' own notebooks.

Until the package was laid out along the data's journey, every module sat directly under
``analysis`` (``analysis.validate``, ``analysis.panel``, ``analysis.brief``, ...). Those names
still import: ``import analysis.panel`` and ``from analysis import brief`` give the module at
its new place (:data:`MOVED`), the very same module object, so attributes, monkeypatching and
private helpers behave as before. ``analysis.tables``, whose reading and writing halves became
:mod:`analysis.inputs.reading` and :mod:`analysis.files`, gives a module holding both halves.

New code imports the new names; ``docs/architecture.md`` says where each kind of code lives.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types

#: Old module (under ``analysis.``) -> its new place (under ``analysis.``).
MOVED: dict[str, str] = {
    "frame": "inputs.frame",
    "codes": "inputs.codes",
    "layouts": "inputs.layouts",
    "validate": "inputs.validate",
    "api_records": "inputs.api_records",
    "indeks_desa": "inputs.indeks_desa",
    "crosswalk": "inputs.crosswalk",
    "registry_template": "inputs.registry_template",
    "dataset": "inputs.dataset",
    "example_data": "inputs.example_data",
    "describe": "methods.describe",
    "balance": "methods.balance",
    "crosssection": "methods.crosssection",
    "panel": "methods.panel",
    "inference": "methods.inference",
    "sensitivity": "methods.sensitivity",
    "pooling": "methods.pooling",
    "results": "methods.results",
    "plots": "report.figures",
    "brief": "report.brief",
    "synthesis": "report.synthesis",
    "export": "report.export",
    "run": "batch.run",
    "executors": "batch.executors",
    "kernels": "batch.kernels",
    "forkserver": "batch.forkserver",
    "kernel_launcher": "batch.kernel_launcher",
    "slices": "batch.slices",
    "runstate": "batch.runstate",
}
#: Old modules whose contents now live in several modules: the old name gives their union.
SPLIT: dict[str, tuple[str, ...]] = {"tables": ("inputs.reading", "files")}


class _OldNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``analysis.<old name>`` and loads it as the module at its new place."""

    def find_spec(self, fullname, path=None, target=None):
        head, _, name = fullname.partition(".")
        if head == "analysis" and (name in MOVED or name in SPLIT):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        name = spec.name.partition(".")[2]
        if name in MOVED:
            module = importlib.import_module(f"analysis.{MOVED[name]}")
            # the import system stamps the alias spec on the module it is given: keep the real one
            self._specs = getattr(self, "_specs", {})
            self._specs[spec.name] = module.__spec__
            return module
        union = types.ModuleType(spec.name, f"Old name of {', '.join(SPLIT[name])}.")
        for part in SPLIT[name]:
            real = importlib.import_module(f"analysis.{part}")
            union.__dict__.update({k: v for k, v in vars(real).items() if not k.startswith("__")})
        return union

    def exec_module(self, module):
        real = getattr(self, "_specs", {}).pop(module.__spec__.name, None)
        if real is not None:
            module.__spec__ = real


def install() -> None:
    """Put the old-name finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _OldNames) for f in sys.meta_path):
        sys.meta_path.append(_OldNames())
