"""Old name of the presentation layer's number formats, kept so existing code keeps working.

Every text now lives in the language catalogs of :mod:`analysis.report` and every number is
formatted there with Babel's locale data; these functions delegate to it.
"""

from __future__ import annotations

from analysis.report import words
from analysis.report.catalog import languages

LANGS = languages()


def fmt(x: float, lang: str = "id", digits: int = 3, signed: bool = False) -> str:
    """A number in the language's notation (``0,015`` / ``0.015``); see :meth:`Words.num`."""
    return words(lang).num(x, digits, signed)


def fmt_int(n: int, lang: str = "id") -> str:
    return words(lang).int(n)


def pct(x: float, lang: str = "id", digits: int = 0) -> str:
    return words(lang).pct(x, digits)


def t(lang: str, key: str, **kw: object) -> str:
    """The catalog text of ``key`` (keys as in ``report/locale/*/LC_MESSAGES/messages.po``)."""
    return words(lang).t(key, **kw)


def outcome_label(outcome: str, lang: str) -> str:
    return words(lang).outcome(outcome)


def fmt_effect(x: float, outcome: str, lang: str) -> str:
    return words(lang).effect(x, outcome)


def fmt_range(lo: float, hi: float, outcome: str, lang: str) -> tuple[str, str]:
    return words(lang).interval(lo, hi, outcome)
