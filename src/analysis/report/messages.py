"""Input problems and errors worded in the run's language: :func:`render`, the one renderer.

An :class:`~analysis.errors.InputProblem` carries a catalog key (``input.<key>``,
``input.<key>.fix``) and its arguments; an :class:`~analysis.errors.AnalysisError` carries
``error.<key>`` and its parameters (:mod:`analysis.errors`). The command line prints every
refusal through :func:`render`, and the data-quality page words the problems it lists through
it too, so a message reads the same on the console and on the page.

Arguments that are words are worded in the language as well: a list becomes "a, b dan 3
lainnya" (:func:`analysis.errors.bounded` with the catalog's ``list.more``), a float takes the
language's decimal mark, a date its long form, a :class:`~analysis.errors.Term` its catalog
word, a count named ``n`` or ``n_*`` its thousands separator.
"""

from __future__ import annotations

import datetime as dt
import errno
import math

from analysis.errors import (
    LIST_LIMIT,
    VALUE_LIMIT,
    AnalysisError,
    AndList,
    InputFileError,
    InputProblem,
    Phrase,
    Term,
    bounded,
)
from analysis.report.words import Words, words

#: OS errors the command line words in the language (``error.os.<name>``); others keep the
#: system's own text.
OS_ERRORS = {
    errno.ENOENT: "enoent",
    errno.EACCES: "eacces",
    errno.EPERM: "eacces",
    errno.ENOSPC: "enospc",
    errno.EISDIR: "eisdir",
    errno.ENOTDIR: "enotdir",
    errno.EROFS: "erofs",
    errno.EEXIST: "eexist",
    errno.ELOOP: "eloop",
}


def render(item: InputProblem | Phrase | BaseException, lang: str) -> str:
    """A problem or an error as the text a user reads in ``lang``.

    Parameters
    ----------
    item
        An :class:`~analysis.errors.InputProblem`, a :class:`~analysis.errors.Phrase` (a
        console note), an :class:`~analysis.errors.InputFileError`
        (each of its problems, one a line, then how many more), another
        :class:`~analysis.errors.AnalysisError`, or an :class:`OSError`.
    lang
        A language with a catalog (``id``, ``en``).

    Returns
    -------
    str
        The text; an error without a catalog key keeps its own text (the catalog test makes
        sure the package raises none).
    """
    w = words(lang)
    if isinstance(item, InputProblem):
        return _problem(item, w)
    if isinstance(item, InputFileError):
        shown = [_problem(p, w) for p in item.problems[: item.limit]]
        more = len(item.problems) - len(shown)
        if more > 0:
            shown.append(w.t("error.more_problems", n=w.int(more)))
        return "\n".join(shown)
    if isinstance(item, Phrase):
        return w.t(f"input.{item.key}", **_args(item.args, w))
    if isinstance(item, AnalysisError) and item.key is not None:
        return w.t(f"error.{item.key}", **_args(item.params, w))
    if isinstance(item, OSError):
        return _os_error(item, w)
    return str(item)


def message_and_fix(p: InputProblem, lang: str) -> tuple[str, str]:
    """The message and the fix of ``p`` in ``lang`` (a page shows them in columns of their own)."""
    w = words(lang)
    if p.key is None:
        return p.message, p.fix
    args = _args(p.args or {}, w)
    return w.t(f"input.{p.key}", **args), w.t(f"input.{p.key}.fix", **args)


def _problem(p: InputProblem, w: Words) -> str:
    """One problem on one line: where (file, row, column), what, the value and the fix."""
    message, fix = message_and_fix(p, w.lang)
    where = [p.file]
    if p.row is not None:
        where.append(w.t("input.where.row", row=p.row))
    if p.column is not None:
        where.append(w.t("input.where.column", column=p.column))
    value = ""
    if p.value is not None:
        shown = repr(p.value)
        if len(shown) > VALUE_LIMIT:  # a 900 MiB cell is named, never printed
            shown = w.t("input.value.cut", head=shown[:VALUE_LIMIT], n=w.int(len(shown)))
        value = w.t("input.value", value=shown)
    return w.t("input.line", where=", ".join(where), message=message, value=value, fix=fix)


def _args(args: dict, w: Words) -> dict:
    """Each argument worded in ``w``'s language (see the module's docstring)."""
    return {k: _arg(k, v, w) for k, v in args.items()}


def _arg(name: str, v: object, w: Words) -> object:
    if isinstance(v, Term):
        return w.t(f"input.{v}")
    if isinstance(v, InputProblem):
        return _problem(v, w)
    if isinstance(v, OSError):
        code = OS_ERRORS.get(v.errno or -1)
        return w.t(f"error.os.{code}") if code else str(v.strerror or v)
    if isinstance(v, Phrase):
        return w.t(f"input.{v.key}", **_args(v.args, w))
    if isinstance(v, bool):
        return w.t("word.yes" if v else "word.no")
    if isinstance(v, AndList):
        return w.join([str(_arg(name, i, w)) for i in v])
    if isinstance(v, (list, tuple, set, frozenset)):
        items = sorted(v) if isinstance(v, (set, frozenset)) else list(v)
        return bounded([_arg(name, i, w) for i in items], LIST_LIMIT, w.t("list.more"))
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return w.num(v, _digits(v))
    if isinstance(v, int) and (name == "n" or name.startswith("n_")):
        return w.int(v)
    if isinstance(v, dt.datetime):
        return w.timestamp(v.isoformat())
    if isinstance(v, dt.date):
        return w.date(v)
    return v


def _digits(x: float) -> int:
    """Decimals that show ``x`` as Python's shortest repr does (at most 6)."""
    text = repr(float(x))
    if "e" in text or "." not in text:
        return 0 if float(x).is_integer() else 6
    return min(len(text.split(".")[1].rstrip("0")), 6)


def _os_error(e: OSError, w: Words) -> str:
    """An OS error on a path: the path, what went wrong in the language, and the fix."""
    import os

    where = os.path.abspath(e.filename) if getattr(e, "filename", None) else ""
    what = _arg("what", e, w)
    return w.t("error.os" if where else "error.os.nowhere", path=where, what=what)


def say(key: str, lang: str, /, **args: object) -> str:
    """A console line of the command line (``cli.*``) in ``lang``, its fields worded too."""
    w = words(lang)
    return w.t(key, **_args(args, w))
