"""The words and number formats of one language: :class:`Words`, and result rows worded with it.

:class:`Words` is the catalog of one language (:mod:`analysis.report.catalog`) plus Babel's number
and date formats (``0,123`` in Indonesian, ``0.123`` in English) and the wording of engine facts
(methods, reasons, grades, partner types, sectors, covariates, estimator facts) by their codes.
Nothing here branches on the language.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

from analysis.methods.options import OLD_METHOD_LABELS, method_code
from analysis.report.catalog import languages, load
from analysis.schema import DEFAULT_TITLE

MINUS = "\u2212"

#: The estimators' old English labels -> their codes (catalog ``method.<code>``): results carry
#: the codes, and a table or notebook written with the labels still reads
#: (:data:`analysis.methods.options.OLD_METHOD_LABELS`, the one mapping).
METHOD_CODES = OLD_METHOD_LABELS


def check_lang(lang: str) -> str:
    """``lang`` if it has a catalog; otherwise ``ValueError`` naming the languages there are."""
    if lang not in languages():
        raise ValueError(f"language '{lang}' has no catalog; available: {', '.join(languages())}")
    return lang


@dataclass(frozen=True, kw_only=True)
class Words:
    """The texts and formats of one language.

    Parameters
    ----------
    lang
        A language with a catalog (``id``, ``en``).
    """

    lang: str

    @cached_property
    def catalog(self):
        """The language's :class:`~analysis.report.catalog.Catalog`."""
        return load(check_lang(self.lang))

    @cached_property
    def locale(self) -> Locale:
        """Babel's locale data of the language (number and date notation)."""
        return Locale.parse(self.lang)

    # -- texts ---------------------------------------------------------------------------------
    def t(self, key: str, /, **kw: object) -> str:
        """The text of ``key`` (``MissingTextError`` when the catalog lacks it)."""
        return self.catalog.text(key, **kw)

    def n(self, key: str, count: int, /, **kw: object) -> str:
        """The plural form of ``key`` for ``count``; ``{n}`` is the formatted count."""
        return self.catalog.plural(key, int(count), **{"n": self.int(count), **kw})

    def has(self, key: str) -> bool:
        """Whether the catalog has a text for ``key``."""
        return self.catalog.has(key)

    def code(self, kind: str, code: object) -> str:
        """A category code worded: ``code("partner_type", "lsm")`` -> catalog ``partner_type.lsm``."""
        return self.t(f"{kind}.{code}")

    # -- numbers and dates (Babel locale data) -------------------------------------------------
    def num(self, x: float | None, digits: int = 3, signed: bool = False) -> str:
        """``x`` with ``digits`` decimals in the language's notation; ``-`` when missing."""
        if x is None or (isinstance(x, float) and not math.isfinite(x)):
            return "-"
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        s = format_decimal(abs(float(x)), format=pattern, locale=self.locale)
        if float(x) < 0 and s.strip("0.,") != "":
            return MINUS + s
        return ("+" + s) if signed and s.strip("0.,") != "" else s

    def int(self, n: int | float | None) -> str:
        """A count in the language's notation (``1.234`` / ``1,234``); ``-`` when missing."""
        if n is None or (isinstance(n, float) and not math.isfinite(n)):
            return "-"
        return self.num(int(n), 0)

    def pct(self, x: float | None, digits: int = 0) -> str:
        """A share as a percentage in the language's notation (``12,5%`` / ``12.5%``)."""
        if x is None or (isinstance(x, float) and not math.isfinite(x)):
            return "-"
        return self.t("unit.percent", value=self.num(100 * float(x), digits))

    def p(self, p: float | None) -> str:
        """A p-value: three decimals, or ``< 0,001`` below that."""
        if p is None or (isinstance(p, float) and not math.isfinite(p)):
            return "-"
        return self.t("unit.p_below", value=self.num(0.001, 3)) if p < 0.001 else self.num(p, 3)

    def date(self, d) -> str:
        """A date in words (``26 Agustus 2025`` / ``August 26, 2025``)."""
        return format_date(d, format="long", locale=self.locale)

    def timestamp(self, iso: str) -> str:
        """An ISO timestamp (``2026-11-28T10:16:24+00:00``) as date and time in words (UTC)."""
        import datetime as dt

        from babel.dates import format_datetime

        try:
            when = dt.datetime.fromisoformat(str(iso))
        except ValueError:
            return str(iso)
        return format_datetime(when, format="medium", tzinfo=dt.UTC, locale=self.locale) + " UTC"

    def effect(self, x: float, outcome: str, signed: bool = False) -> str:
        """An effect in the outcome's unit: index points (3 decimals) or percentage points."""
        if outcome == "naik_status":
            v = self.num(100 * (x if signed else abs(x)), 1, signed)
            return self.t("unit.pp", value=v)
        return self.num(x if signed else abs(x), 3, signed)

    def interval(self, lo: float, hi: float, outcome: str) -> tuple[str, str]:
        """The two ends of an interval in the outcome's unit (``-`` when missing)."""
        scale, digits = (100, 1) if outcome == "naik_status" else (1, 3)
        if lo is None or hi is None:
            return "-", "-"
        return self._end(scale * lo, digits, lo > 0), self._end(scale * hi, digits, hi < 0)

    def _end(self, x: float, digits: int, away_from_zero: bool) -> str:
        """An interval's end, with up to 2 more decimals when it rounds to zero but is not.

        Only on an interval that excludes zero (``away_from_zero``), so that such a range never
        reads as touching zero; an end still zero at 2 more decimals keeps the usual digits.
        """
        for extra in (0, 1, 2) if away_from_zero and math.isfinite(x) else (0,):
            if round(x, digits + extra) != 0:
                return self.num(x, digits + extra)
        return self.num(x, digits)

    # -- engine codes --------------------------------------------------------------------------
    def outcome(self, code: str) -> str:
        """An outcome (``nilai_idm``, ``iks``, ...) in words."""
        return self.t(f"outcome.{code}")

    def method(self, label: str) -> str:
        """A method (estimator) in words, from its code (``"cs_did"``) or its old English label.

        Heterogeneity rows ``"<method> [dim=group]"`` word the group too.
        """
        base, _, group = str(label).partition(" [")
        code = method_code(base)
        text = self.t(f"method.{code}")
        if group:
            dim, _, value = group.rstrip("]").partition("=")
            text += f" ({self.group(dim, value)})"
        return text

    def group(self, dimension: str, value: str) -> str:
        """A subgroup such as ``jenis_mitra = perguruan_tinggi`` in words."""
        kind = {"jenis_mitra": "partner_type", "sektor": "sector"}.get(dimension, dimension)
        return self.t(f"dimension.{kind}", value=self.code(kind, value))

    def reason(self, code: str) -> str:
        """Why a result was not estimated, from its reason code."""
        return self.t(f"reason.{code}")

    def grade(self, code: str) -> str:
        """An evidence grade (``strong``, ``suggestive``, ...) in words."""
        return self.t(f"grade.{code}")

    def facts(self, facts: dict | None) -> str:
        """Estimator facts worded and joined: every key with a ``fact.<key>`` entry, in catalog order.

        Keys without an entry are not shown (an English note is never printed raw); the catalog
        test lists the keys the estimators produce, so a new fact needs only a new entry.
        """
        return self.t("facts.sep").join(self.fact_parts(facts))

    def fact_parts(self, facts: dict | None) -> list[str]:
        """The worded facts of :meth:`facts`, one string per fact, before they are joined."""
        if not facts:
            return []
        facts = dict(facts)
        # a propensity model that no cell used (every cell fell back to outcome regression)
        n_cells = _count(facts.get("n_cells"))
        if "ps_model" in facts and n_cells and _count(facts.get("n_cells_reg_fallback")) == n_cells:
            facts["ps_model"] = "unused"
        # pairs that read as one fact: clusters with their number, desa left out with the reason
        if "cluster" in facts:
            unit = self._fact_value("cluster", facts["cluster"])
            n = facts.pop("n_clusters", None)
            facts["cluster"] = (
                self.t("fact.cluster_n", unit=unit, n=self.int(n))
                if n
                else self.t("fact.cluster_only", unit=unit)
            )
        if "n_dropped" in facts:
            why = facts.pop("dropped_reason", None)
            if why and "," not in str(why):  # the count by that one reason says it again
                facts.pop(f"n_dropped_{why}", None)
            n = self.int(facts["n_dropped"])
            facts["n_dropped"] = (
                self.t("fact.dropped_because", n=n, why=self._fact_value("dropped_reason", why))
                if why
                else self.t("fact.dropped_plain", n=n)
            )
        out = []
        for key, value in facts.items():
            if not self.has(f"fact.{key}") or value is None:
                continue
            if isinstance(value, float) and not math.isfinite(value):
                continue
            if self.catalog.is_plural(f"fact.{key}") and _count(value) is not None:
                out.append(self.n(f"fact.{key}", _count(value), value=self.int(_count(value))))
                continue
            out.append(self.t(f"fact.{key}", value=self._fact_value(key, value)))
        return out

    def _fact_value(self, key: str, value: object) -> str:
        if isinstance(value, bool):
            return self.t("word.yes" if value else "word.no")
        if isinstance(value, int):
            return self.int(value)
        if isinstance(value, float):
            return self.num(value, 0 if key.startswith(("ess", "n_")) else 2)
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return self.t(
                "range.pair", lo=self._fact_value(key, value[0]), hi=self._fact_value(key, value[1])
            )
        if isinstance(value, (int, float)) is False and hasattr(value, "item"):
            return self._fact_value(key, value.item())
        if (
            isinstance(value, str)
            and value
            and all(self.has(f"{key}.{v}") for v in value.split(","))
        ):
            return self.join([self.t(f"{key}.{v}") for v in value.split(",")])
        if isinstance(value, str) and self.has(f"value.{value}"):
            return self.t(f"value.{value}")
        return str(value)

    def join(self, items: list[str]) -> str:
        """``a, b dan c`` / ``a, b and c``."""
        items = list(items)
        if len(items) <= 1:
            return "".join(items)
        return self.t("list.last", head=self.t("list.sep").join(items[:-1]), last=items[-1])


def result_row(w: Words, r, label: str, with_q: bool = False, facts: dict | None = None) -> dict:
    """One result (object or tidy-table record) as table cells worded in ``w``'s language."""
    get = (lambda k: getattr(r, k, None)) if not isinstance(r, dict) else r.get
    est = bool(get("estimable"))
    outcome = str(get("outcome") or "")
    lo, hi = w.interval(get("ci_low"), get("ci_high"), outcome) if est else ("-", "-")
    return {
        "label": label,
        "estimate": w.effect(get("estimate"), outcome, signed=True) if est else "-",
        "ci": w.t("range.pair", lo=lo, hi=hi) if est else "-",
        # a comparison that was not made used no desa: its counts are in the note, not here
        "n": w.t("range.ratio", a=w.int(get("n_treated")), b=w.int(get("n_control")))
        if est
        else "-",
        "q": w.p(get("q_value_bh")) if with_q and est else "-",
        "note": w.facts(facts) if est else not_estimated(w, r),
    }


#: The marks of the families of rows whose shared facts are said once (:func:`shared_notes`).
SHARED_MARKS = ("note.shared_mark", "note.shared_mark2", "note.shared_mark3")


def shared_notes(w: Words, rows: list[dict], facts: list[dict | None]) -> list[str]:
    """Facts common to a family of rows said once; each row's note keeps only its own facts.

    ``rows`` are :func:`result_row` cells and ``facts`` the facts each was worded from (None
    for a row that was not estimated). A family is the rows sharing at least half of the
    facts of its first row (the first estimated row not yet in a family); the facts every
    member has (at least two, and at least two members) move to one line, and each member's
    note becomes the family's mark (:data:`SHARED_MARKS`) and its remaining facts. A fact is in
    a line only when every row with that mark has it, so the line is true of each of them.
    Returns the lines (one per family, at most one per mark), empty when nothing is shared.
    """
    parts = [w.fact_parts(f) if f is not None else None for f in facts]
    free = [i for i, p in enumerate(parts) if p]
    lines = []
    sep = w.t("facts.sep")
    for mark_key in SHARED_MARKS:
        while free:
            first = parts[free[0]]
            family = [i for i in free if 2 * len(set(parts[i]) & set(first)) >= len(first)]
            common = set.intersection(*(set(parts[i]) for i in family))
            if len(family) >= 2 and len(common) >= 2:
                break
            free = free[1:]  # its first row shares with no other: try the next row
        else:
            break
        mark = w.t(mark_key)
        for i in family:
            own = sep.join(p for p in parts[i] if p not in common)
            rows[i]["note"] = mark + (f" {own}" if own else "")
        lines.append(w.t("note.shared", mark=mark, facts=sep.join(p for p in first if p in common)))
        free = [i for i in free if i not in family]
    return lines


def _count(v: object) -> int | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if math.isfinite(f) else None


def not_estimated(w: Words, r) -> str:
    """Why a result was not estimated, in words: ``not estimated: <reason>``.

    ``r`` is a result or a tidy-table record; its ``reason`` code is worded by the catalog. A
    subgroup row (``estimate_heterogeneity``: ``n_desa_subgroup``, ``n_kecamatan_subgroup``,
    ``min_desa``, ``min_clusters``) also says how many partnered desa and kecamatan it had
    against the thresholds.
    """
    get = (lambda k: getattr(r, k, None)) if not isinstance(r, dict) else r.get
    why = w.reason(get("reason"))
    n, k = _count(get("n_desa_subgroup")), _count(get("n_kecamatan_subgroup"))
    min_n, min_k = _count(get("min_desa")), _count(get("min_clusters"))
    if n == 0 and min_n is not None:  # the group's desa partnered from the start or too recently
        why = w.t("note.subgroup_none", min_n=w.int(min_n))
    elif None not in (n, k, min_n, min_k):
        why = w.n(
            "note.subgroup_counts",
            n,
            why=why,
            k=w.int(k),
            min_n=w.int(min_n),
            min_k=w.int(min_k),
        )
    return w.t("note.not_estimated", why=why)


def dataset_title(w: Words, meta: dict, fallback: str) -> str:
    """How a page names a data folder: worded for the synthetic example, else its title."""
    if meta.get("synthetic") and meta.get("seed") is not None:
        return w.t("prov.synthetic_data", province=meta.get("province", ""), seed=meta["seed"])
    title = str(meta.get("title") or "")
    if title in ("", DEFAULT_TITLE):  # no title given at ingest: its files, in page words
        names = [str(e.get("name")) for e in meta.get("inputs") or () if e.get("name")]
        shown = ", ".join(names[:4]) + (f" (+{len(names) - 4})" if len(names) > 4 else "")
        return w.t("prov.ingested_data", folder=shown or fallback)
    return title


@lru_cache(maxsize=8)
def words(lang: str) -> Words:
    """The :class:`Words` of a language (cached)."""
    return Words(lang=check_lang(lang))
