"""Parameter values of the report notebooks, checked against the data before any kernel starts.

The runner calls :func:`check_values` on the values it will pass (so a typo fails in well under
two seconds with the closest valid value), and the district notebook calls it first too, so a
plain ``papermill`` run stops with the same message.
"""

from __future__ import annotations

import ast
import difflib
from pathlib import Path

from analysis import paths
from analysis.design import OUTCOMES
from analysis.errors import ParameterError
from analysis.methods import options
from analysis.schema import NO_WORDS, YES_WORDS
from analysis.schema import bool_from_text as bool_from_text  # declared once, in schema

#: Text accepted for a yes/no notebook parameter given as text: :data:`analysis.schema.YES_WORDS`
#: and ``NO_WORDS`` as one mapping (read with :func:`bool_from_text`, which also takes ``tidak ada``).
BOOL_TEXT: dict[str, bool] = {**dict.fromkeys(YES_WORDS, True), **dict.fromkeys(NO_WORDS, False)}


#: Comparison groups of the staggered estimator.
CONTROL_GROUPS: tuple[str, ...] = options.allowed(options.ControlGroup)


def data_years(data_dir: str | Path) -> list[int] | None:
    """The outcome years of a data folder, read from its welfare table's one column (fast).

    Parameters
    ----------
    data_dir
        The data folder.

    Returns
    -------
    list of int or None
        The years, or ``None`` when the table cannot be read (the folder's validation then
        says why).
    """
    import pandas as pd

    try:
        t = pd.read_parquet(Path(data_dir) / paths.WELFARE_FILE, columns=["tahun"])
        return sorted(int(y) for y in t["tahun"].dropna().unique())
    except Exception:
        return None


def choices() -> dict[str, tuple[str, ...]]:
    """Parameter name -> allowed values.

    The outcomes, the languages (one per catalog) and every option of the analysis
    specification typed as a ``Literal``.
    """
    from analysis.report.catalog import languages

    out: dict[str, tuple[str, ...]] = {
        "outcome": tuple(OUTCOMES),
        "lang": languages(),
        "control_group": CONTROL_GROUPS,
    }
    out.update({k: options.allowed(t) for k, t in options.SPECIFICATION_OPTIONS.items()})
    return out


def declared_parameters(notebook: Path) -> dict[str, dict]:
    """The notebook's ``parameters`` cell as papermill reads it.

    Parameters
    ----------
    notebook
        The notebook file.

    Returns
    -------
    dict
        Parameter name -> papermill's description (``inferred_type_name``, ``default``,
        ``help``).
    """
    import papermill  # lazy: a second of Jupyter machinery that the value check runs before

    return papermill.inspect_notebook(str(notebook))


def check_parameters(notebook: Path, params: dict) -> dict:
    """Reject unknown parameters (with the closest declared name) and coerce values to the declared type.

    papermill itself only logs a warning for an unknown parameter and runs with the default: a
    typo would silently change the analysis.

    Parameters
    ----------
    notebook
        The notebook whose ``parameters`` cell declares the names and types.
    params
        Parameter name -> value (text from the command line, or already typed).

    Returns
    -------
    dict
        The parameters with each value as the declared type (``int``, ``float``, ``bool``,
        else ``str``).

    Raises
    ------
    ParameterError
        A name the notebook does not declare, or a value that is not of the declared type.
    """
    declared = declared_parameters(notebook)
    out = {}
    for k, v in params.items():
        if k not in declared:
            close = difflib.get_close_matches(k, list(declared), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ParameterError(
                f"'{k}' is not a parameter of {notebook.name}.{hint} Declared: {', '.join(declared)}.",
                key="param.unknown_close" if close else "param.unknown",
                name=k,
                notebook=notebook.name,
                close=close[0] if close else "",
                declared=", ".join(declared),
            )
        typ = declared[k].get("inferred_type_name", "None")
        if typ == "bool":
            out[k] = _as_bool(k, v, notebook)
            continue
        try:
            out[k] = int(v) if typ == "int" else float(v) if typ == "float" else str(v)
        except (TypeError, ValueError):
            raise ParameterError(
                f"parameter '{k}' of {notebook.name} must be {typ}, got {v!r}.",
                key="param.wrong_type",
                name=k,
                notebook=notebook.name,
                type=typ,
                value=repr(v),
            ) from None
    return out


def _as_bool(name: str, v: object, notebook: Path) -> bool:
    b = bool_from_text(v)
    if b is None:
        raise ParameterError(
            f"parameter '{name}' of {notebook.name} must be true or false, got {v!r}.",
            key="param.not_bool",
            name=name,
            notebook=notebook.name,
            value=repr(v),
        )
    return b


def _choice(name: str, value: object, allowed: tuple[str, ...] | list[str]) -> str:
    v = str(value)
    if v in allowed:
        return v
    close = difflib.get_close_matches(v, list(allowed), n=1, cutoff=0.0)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ParameterError(
        f"parameter {name}={v!r} is not a valid value.{hint} Valid: {', '.join(allowed)}.",
        key="param.choice_close" if close else "param.choice",
        name=name,
        value=repr(v),
        close=close[0] if close else "",
        allowed=", ".join(allowed),
    )


def _year(name: str, value: object, years: list[int], zero_means: str) -> int:
    try:
        y = int(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"parameter {name}={value!r} must be a year or 0 ({zero_means}).",
            key="param.not_year",
            name=name,
            value=repr(value),
        ) from None
    if y == 0 or not years or y in years:
        return y
    near = min(years, key=lambda x: abs(x - y))
    raise ParameterError(
        f"parameter {name}={y} is not a year of the data (years {years[0]}-{years[-1]}). "
        f"Closest: {near}; or 0 ({zero_means}).",
        key="param.year_not_in_data",
        name=name,
        year=y,
        first=years[0],
        last=years[-1],
        near=near,
    )


def check_values(
    params: dict, data_dir: str | Path | None = None, years: list[int] | None = None
) -> dict:
    """Check every known parameter value; return the parameters with ``district`` as a code.

    Parameters
    ----------
    params
        Notebook parameters (unknown names are left to :func:`check_parameters`).
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
            f"cross_section_year={out['cross_section_year']} is after last_year={out['last_year']}.",
            key="param.cross_after_last",
            cross=out["cross_section_year"],
            last=out["last_year"],
        )
    if out.get("agreements"):
        missing = [p for p in paths.input_paths(out["agreements"]) if not p.is_file()]
        if missing:
            raise ParameterError(
                missing_agreements(missing),
                key="param.agreements_missing",
                files=[str(p) for p in missing],
                cwd=str(Path.cwd()),
            )
    return out


def missing_agreements(missing: list[Path]) -> str:
    """The message for agreements files that do not exist: each absolute path tried, and the fix."""
    return (
        "parameter agreements: file not found: "
        + ", ".join(str(p) for p in missing)
        + f" (a relative path is taken from the folder the command runs in, {Path.cwd()}). "
        "Fix: give the file's path from that folder or an absolute path, or "
        "--param agreements= for none."
    )


def resolve_agreements(notebook: Path, params: dict) -> dict:
    """``params`` with the ``agreements`` files as absolute paths, the notebook's default if unset.

    The runner calls this where the user typed the command, before kernels start elsewhere: a
    relative path is taken from the working directory (:func:`analysis.paths.input_path`), and
    the notebook's default (the package's ``data/real/kukar_mou_2025.csv``) is written out so
    the run's data-quality page and console count the same files the briefs read.

    Parameters
    ----------
    notebook
        The district notebook (its ``agreements`` parameter's default).
    params
        The parameters given (``--param``, ``--params``, ``--agreements``).

    Returns
    -------
    dict
        A copy of ``params``; unchanged when the notebook declares no ``agreements``.
    """
    declared = declared_parameters(notebook)
    if "agreements" not in declared:
        return dict(params)
    value = params.get("agreements")
    if value is None:
        value = ast.literal_eval(declared["agreements"].get("default") or '""')
    return {**params, "agreements": ",".join(str(p) for p in paths.input_paths(value))}
