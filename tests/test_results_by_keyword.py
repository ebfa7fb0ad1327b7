"""Every frozen dataclass of the package (results, specifications, contracts) is built by keyword:
its fields are keyword-only, so a positional call cannot silently fill the wrong field."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest

import analysis


def _modules():
    names = [m.name for m in pkgutil.walk_packages(analysis.__path__, "analysis.")]
    return [n for n in names if not n.endswith("__main__")]


def _frozen_dataclasses():
    seen = {}
    for name in _modules():
        mod = importlib.import_module(name)
        for obj in vars(mod).values():
            if (
                isinstance(obj, type)
                and dataclasses.is_dataclass(obj)
                and obj.__module__ == mod.__name__
                and obj.__dataclass_params__.frozen
            ):
                seen[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return seen


FROZEN = _frozen_dataclasses()


def test_the_walk_finds_the_result_classes():
    for name in (
        "analysis.methods.results.Estimate",
        "analysis.methods.results.NotEstimable",
        "analysis.methods.panel.Staggered",
        "analysis.methods.panel.GroupTime",
        "analysis.district.Evidence",
        "analysis.district.MainEstimate",
        "analysis.report.agreements.Recent",
        "analysis.inputs.dataset.Dataset",
    ):
        assert name in FROZEN, name
    assert len(FROZEN) >= 30


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_every_field_is_keyword_only(name):
    cls = FROZEN[name]
    positional = [f.name for f in dataclasses.fields(cls) if f.init and not f.kw_only]
    assert not positional, f"{name}: positional fields {positional}"


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_building_one_positionally_raises(name):
    cls = FROZEN[name]
    n = len([f for f in dataclasses.fields(cls) if f.init])
    with pytest.raises(TypeError, match="positional argument"):
        cls(*([None] * max(n, 1)))
