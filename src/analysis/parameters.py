"""Parameter values of the report notebooks, checked against the data before any kernel starts.

The runner calls :func:`check_values` on the values it will pass (so a typo fails in well under
two seconds with the closest valid value), and the district notebook calls it first too, so a
plain ``papermill`` run stops with the same message.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from analysis import paths
from analysis.design import OUTCOMES
from analysis.errors import ParameterError
from analysis.methods import options

#: Text accepted for a yes/no notebook parameter given as text (a runner's ``--param
#: baseline_outcome=false``, papermill's ``-r``): read by the runner and by the notebook alike.
BOOL_TEXT = {"true": True, "1": True, "yes": True, "ya": True,
             "false": False, "0": False, "no": False, "tidak": False}  # fmt: skip


def bool_from_text(value: object) -> bool | None:
    """``value`` as a bool: a bool as it is, text of :data:`BOOL_TEXT` (any case), else None."""
    if isinstance(value, bool):
        return value
    return BOOL_TEXT.get(str(value).strip().lower())


#: Comparison groups of the staggered estimator.
CONTROL_GROUPS: tuple[str, ...] = options.allowed(options.ControlGroup)


def data_years(data_dir: str | Path) -> list[int] | None:
    """The outcome years of a data folder, read from its welfare table's one column (fast), or
    ``None`` when it cannot be read (the folder's validation then says why)."""
    import pandas as pd

    try:
        t = pd.read_parquet(Path(data_dir) / paths.WELFARE_FILE, columns=["tahun"])
        return sorted(int(y) for y in t["tahun"].dropna().unique())
    except Exception:
        return None


def choices() -> dict[str, tuple[str, ...]]:
    """Parameter name -> allowed values: outcomes, languages (one per catalog) and every option
    of the analysis specification typed as a ``Literal``."""
    from analysis.report.catalog import languages

    out: dict[str, tuple[str, ...]] = {
        "outcome": tuple(OUTCOMES),
        "lang": languages(),
        "control_group": CONTROL_GROUPS,
    }
    out.update({k: options.allowed(t) for k, t in options.SPECIFICATION_OPTIONS.items()})
    return out


def _choice(name: str, value: object, allowed: tuple[str, ...] | list[str]) -> str:
    v = str(value)
    if v in allowed:
        return v
    close = difflib.get_close_matches(v, list(allowed), n=1, cutoff=0.0)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ParameterError(
        f"parameter {name}={v!r} is not a valid value.{hint} Valid: {', '.join(allowed)}."
    )


def _year(name: str, value: object, years: list[int], zero_means: str) -> int:
    try:
        y = int(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"parameter {name}={value!r} must be a year or 0 ({zero_means})."
        ) from None
    if y == 0 or not years or y in years:
        return y
    near = min(years, key=lambda x: abs(x - y))
    raise ParameterError(
        f"parameter {name}={y} is not a year of the data (years {years[0]}-{years[-1]}). "
        f"Closest: {near}; or 0 ({zero_means})."
    )


def check_values(
    params: dict, data_dir: str | Path | None = None, years: list[int] | None = None
) -> dict:
    """Check every known parameter value; return the parameters with ``district`` as a code.

    Parameters
    ----------
    params
        Notebook parameters (unknown names are left to :func:`analysis.batch.run.check_parameters`).
    data_dir
        Data folder whose years bound ``last_year`` and ``cross_section_year`` (read only when
        ``years`` is not given and a year parameter is set).
    years
        The outcome years of the data, when the caller has them already.

    Raises
    ------
    ParameterError
        A value that is not allowed, with the closest valid value and the list of valid ones.
    """
    from analysis.inputs.frame import resolve_district

    out = dict(params)
    if "district" in out and out["district"] not in ("", None):
        out["district"] = resolve_district(out["district"]).code
    for name, allowed in choices().items():
        if name in out:
            out[name] = _choice(name, out[name], allowed)
    for k in ("last_year", "cross_section_year"):
        if k in out:
            out[k] = _year(k, out[k], [], "the last year of the data")  # an integer at least
    if any(out.get(k) for k in ("last_year", "cross_section_year")) and years is None and data_dir:
        from analysis.inputs.dataset import load_dataset

        years = sorted(int(y) for y in load_dataset(Path(data_dir)).welfare["tahun"].unique())
    for k in ("last_year", "cross_section_year"):
        if k in out:
            out[k] = _year(k, out[k], years or [], "the last year of the data")
    if out.get("last_year") and out.get("cross_section_year", 0) > out["last_year"]:
        raise ParameterError(
            f"cross_section_year={out['cross_section_year']} is after last_year={out['last_year']}."
        )
    if out.get("agreements"):
        from analysis import paths

        for f in str(out["agreements"]).split(","):
            p = Path(f.strip())
            if f.strip() and not (p if p.is_absolute() else paths.ROOT / p).exists():
                raise ParameterError(
                    f"parameter agreements: file {f.strip()!r} not found (paths are relative to "
                    f"the repository, {paths.ROOT.name}/)."
                )
    return out
