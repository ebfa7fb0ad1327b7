"""Named exceptions. Each carries what a researcher needs to fix the input.

The command line turns any :class:`AnalysisError` into a message and exit status 2, with no
traceback.

Every message has a catalog key and its arguments, so that it can be worded in the run's
language: an :class:`InputProblem` carries ``key`` (catalog ``input.<key>`` and
``input.<key>.fix``) and ``args``, file, row, column and value as fields of their own; an
:class:`AnalysisError` carries ``key`` (catalog ``error.<key>``) and ``params``. The English
text is written where the error is raised and stays what ``str(exc)`` and
:meth:`InputProblem.render` give to Python callers; the command line and the data pages word
the same key and arguments in ``--lang`` with :func:`analysis.report.messages.render` (this
module imports nothing outside the core, so it cannot read the catalogs itself).
``tests/test_message_catalog.py`` checks that every problem and error raised in the package has
a key, that both catalogs have it with the same fields, and that no key is left unused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: How many items a message lists before "and N more" (:func:`bounded`).
LIST_LIMIT = 10
#: How many characters of a cell's value a message shows.
VALUE_LIMIT = 200


class Term(str):
    """An argument that is itself a word: catalog ``input.<code>`` words it in each language.

    ``Term("mark.comma")`` is the decimal mark "comma"; a renderer reads ``input.mark.comma``.
    """


@dataclass(frozen=True, kw_only=True)
class Phrase:
    """An argument that is a phrase with fields of its own: catalog ``input.<key>`` with ``args``.

    ``Phrase(key="formula_column", args={"column": "IDM", "cells": ["L5", "L6"]})`` is worded "column
    'IDM' (cells L5, L6)" or "kolom 'IDM' (sel L5, L6)".
    """

    key: str
    args: dict


class AndList(tuple):
    """An argument listing items joined by "and": "a, b dan c" / "a, b and c" by language."""


def bounded(items, limit: int = LIST_LIMIT, more: str = " and {n} more") -> str:
    """``items`` as "a, b, c and N more": a message lists the first ``limit`` only.

    Parameters
    ----------
    items
        The items (anything with ``str``), in the order to show.
    limit
        How many to show.
    more
        What follows the first ``limit`` items, with ``{n}`` the number left out (the
        renderer passes the catalog's ``list.more`` of the run's language).

    Examples
    --------
    >>> bounded(range(3, 50003))
    '3, 4, 5, 6, 7, 8, 9, 10, 11, 12 and 49990 more'
    """
    items = [str(i) for i in items]
    shown = ", ".join(items[:limit])
    return shown + (more.format(n=len(items) - limit) if len(items) > limit else "")


class AnalysisError(Exception):
    """Base class: an error the user can act on.

    Parameters
    ----------
    message
        The English text (``str(exc)``).
    key
        The catalog entry ``error.<key>`` that words it in each language.
    **params
        The fields of that entry (a list is shown as "a, b and N more", a float with the
        language's decimal mark, a :class:`Term` as a word of the language).
    """

    exit_code = 2

    def __init__(self, message: str = "", *, key: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


@dataclass
class InputProblem:
    """One concrete problem in an input file."""

    file: str
    message: str
    fix: str
    row: int | None = None  # 1-based row as a spreadsheet shows it (header = row 1)
    column: str | None = None
    value: object = None
    #: A catalog key (``input.<key>`` and ``input.<key>.fix``) that words the message and the
    #: fix in the run's language, with its ``args``; ``message``/``fix`` are the English text.
    key: str | None = None
    args: dict | None = None

    def render(self) -> str:
        """The problem as one line: where (file, row, column), what, the value and the fix."""
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = ", ".join(where) + f": {self.message}"
        if self.value is not None:
            value = repr(self.value)
            if len(value) > VALUE_LIMIT:  # a 900 MiB cell is named, never printed
                value = value[:VALUE_LIMIT] + f"... ({len(value)} characters)"
            text += f" (value: {value})"
        return text + f". Fix: {self.fix}"


#: What a missing path should have been (``what`` of :func:`missing_path`), in English; the
#: catalogs word each as ``input.what.<code>``.
WHAT = {
    "file": "the file",
    "column_map": "the column map",
    "records_folder": "the folder of records",
    "data_folder": "the data folder",
}
#: What to do about a missing path (``fix`` of :func:`missing_path`): ``input.fix.<code>``.
FIXES = {
    "check_path": "check the path",
    "notebook": "give the district notebook (notebooks/district_report.ipynb)",
    "params_file": "give a .yaml or .toml file of NAME: VALUE pairs",
    "data_folder": "give a folder written by 'python -m analysis ingest' or 'example-data'",
}


def missing_path(
    path: str | os.PathLike, what: str = "file", fix: str = "check_path"
) -> InputProblem:
    """A path that does not exist, named by the absolute path tried.

    A relative path is taken from the folder the command runs in (never the repository or the
    installed package), so the fix says which folder that was.

    Parameters
    ----------
    path
        The path as given.
    what
        What should be there, a code of :data:`WHAT`: ``"file"``, ``"column_map"``, ...
    fix
        What to do, a code of :data:`FIXES`.

    Returns
    -------
    InputProblem
        ``file`` is the absolute path; the message ``"<what> does not exist"``.

    Examples
    --------
    >>> missing_path("/no/such.csv").render()
    '/no/such.csv: the file does not exist. Fix: check the path'
    """
    given = os.fspath(path)
    args = {"what": Term(f"what.{what}"), "fix": Term(f"fix.{fix}")}
    if os.path.isabs(given):
        return InputProblem(
            os.path.abspath(given),
            f"{WHAT[what]} does not exist",
            FIXES[fix],
            key="missing_path",
            args=args,
        )
    return InputProblem(
        os.path.abspath(given),
        f"{WHAT[what]} does not exist",
        f"{FIXES[fix]}; a relative path is taken from the folder the command runs in, "
        f"{os.getcwd()}",
        key="missing_path_relative",
        args={**args, "cwd": os.getcwd()},
    )


class InputFileError(AnalysisError):
    """An input file cannot be used as it is; lists every problem found (up to a limit)."""

    def __init__(self, problems: list[InputProblem], limit: int = 20):
        self.problems = problems
        shown = [p.render() for p in problems[:limit]]
        more = len(problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more problem(s) of the same kind")
        self.limit = limit
        super().__init__("\n".join(shown))


class UnknownDistrictError(AnalysisError):
    """A district name or code that is not in the official frame."""


class CodeSystemError(AnalysisError):
    """A village code system that is not supported, or codes that do not fit the declared one."""


class OutputExistsError(AnalysisError):
    """Refusing to overwrite data the user already has."""


class ParameterError(AnalysisError):
    """A notebook parameter that the notebook does not declare, or of the wrong type."""


class RunFailedError(AnalysisError):
    """One or more districts failed in a batch run (the others completed)."""

    exit_code = 1


class OptionError(AnalysisError, ValueError):
    """An estimator option outside its supported values (the message lists them)."""


class PanelShapeError(AnalysisError, ValueError):
    """Data whose shape an estimator cannot use (e.g. one row per unit for a panel method)."""


def check_option(name: str, value: object, allowed: object) -> None:
    """Refuse ``value`` unless it is one of ``allowed`` (a ``typing.Literal`` or a collection).

    Raises
    ------
    OptionError
        Naming the option, the value given and every supported value.
    """
    from typing import get_args

    values = get_args(allowed) or tuple(allowed)  # type: ignore[arg-type]
    if value not in values:
        raise OptionError(
            f"{name}={value!r} is not supported; use one of: " + ", ".join(repr(v) for v in values),
            key="option.not_supported",
            name=name,
            value=repr(value),
            allowed=", ".join(repr(v) for v in values),
        )


class ConvergenceError(AnalysisError, RuntimeError):
    """An iterative estimator did not converge (the message names it and its iterations)."""


class OutputLockedError(AnalysisError):
    """Another run is writing into the same output folder."""
