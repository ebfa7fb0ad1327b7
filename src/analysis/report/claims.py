"""The sentences of a district brief as claims: each shown only when its condition holds.

A brief's facts (:class:`Facts`) are computed once from the district's results. Every catalog
sentence the brief can show is declared here as a :class:`Claim`: its catalog key, the section
it belongs to, the facts it needs, its condition (a plain function of the facts) and the values
it fills in. Templates show sentences only through :func:`shown`, and each sentence's element
carries ``data-claim="<key>"`` so a test can read which claims a page makes and check their
conditions against facts it recomputes from ``summary.json`` and ``results.csv``.

Rules behind the conditions (the numbers are :data:`NOISE_Z` and the grade's
:data:`PRETREND_ALPHA`):

====================  ==========================================================================
sentence              shown when
====================  ==========================================================================
key message           by grade; when the pre-period test rejects (p < 0.10) the key message is
                      ``key.pretrend`` ("the gap may continue an earlier divergence"), and when
                      a pre-period gap exceeds the estimate it is ``key.pre_gap``; the grade is
                      then "insufficient" and no sentence says partnered desa improved faster
effect in units       only for strong or suggestive evidence (``supports_size``)
below the MDE         the interval excludes zero but the estimate is below the MDE (type M risk)
naive "overstates"    naive - headline > 1.96 x SE of the naive comparison (``understates``:
                      < -1.96 x SE; otherwise ``naive_close``, the gap is within its noise, or
                      ``naive_close_sure`` when only the naive interval excludes zero)
trimming              the weighting's propensity score exists: desa left out by the trimming
                      bounds, counted by group (``trim.count``), or none (``trim.none``)
real agreements       a simulated page lists agreements read from an agreements file: they are
                      marked real (``recent.real``)
breakdown value       the headline interval excludes zero and Mbar > 0 (else ``sens.no_breakdown``)
estimator named       the one computed: ``est.fallback`` when cells of a doubly robust or
                      weighting estimator fell back to outcome regression, with their count
pooled score          the weighting used one propensity model per district (``est.ps_pooled``)
late exposed          desa first exposed after the last year exist (``late.exclude`` or
                      ``late.never_treated``, the convention used, with their number)
missing year          the headline left out desa without every year (``dropped.missing_year``)
E-value, causal       the headline was estimated and its E-value is finite
status bands          headline outcome ``nilai_idm`` (the IDM thresholds apply to it only)
====================  ==========================================================================

Recommendations (section ``rec``), each from the evidence and the registry:

====================  ==========================================================================
rule                  recommendation
====================  ==========================================================================
rows without a code   registry rows (data registry or the extra registries) without a desa code,
                      named where a file names them: fill in the code, or for a desa persiapan
                      once it is made definitive
too recent            agreements counted from after the last data year: when they can be judged
                      (the IDM year, or the Indeks Desa year against its base) and against what;
                      counting only agreements at desa new to partnering (repeat partnerships
                      are named apart); ``rec.settle_few`` when a year's new desa are fewer
                      than the strong minimum, ``rec.settle_tiny`` when fewer than the
                      staggered comparison's minimum (a synthetic twin named only when the
                      instrument has two years before: ``rec.settle_tiny.no_twin`` otherwise);
                      agreements counted from the first Indeks Desa year have no starting
                      year on the same instrument and are said so
few evaluated desa    fewer evaluated partnered desa than the strong-grade minimum: "record start
                      dates of more partnered desa" with both counts
below the MDE         the interval includes zero: with these desa only differences of about the
                      MDE can be detected; more years or desa would be needed to settle smaller
                      ones ("rec.mde_smaller" if |estimate| < MDE, else "rec.mde_near")
pre-period rejects    check how partnered desa were chosen before reading the gap as a benefit
strong                keep recording the content of agreements to see whether the gap persists
not estimable         record agreements with desa code and start date
====================  ==========================================================================
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.design import EXPOSURE_CUTOFF_MONTH, OUTCOMES
from analysis.methods.synthetic import MIN_PRE_PERIODS as FEW_MIN_PRE
from analysis.report.agreements import IDM_LAST_EDITION as LAST_IDM
from analysis.schema import IDM_THRESHOLDS

#: The pre-period test "rejects" below this p-value (the grade's rule, district.judge_evidence).
PRETREND_ALPHA = 0.10
#: A gap between two estimates is "beyond its noise" when it exceeds NOISE_Z standard errors.
NOISE_Z = 1.96

#: Terms of the technical appendix's glossary (catalog ``glossary.<term>`` and ``.def``).
GLOSSARY = (
    "did",
    "interval",
    "pretrend",
    "mde",
    "evalue",
    "breakdown",
    "naive",
    "fdr",
    "synthetic",
)

_NAN = float("nan")
#: The last start date that counts towards the IDM's last edition (a start from July counts
#: towards the next year's: :data:`analysis.design.EXPOSURE_CUTOFF_MONTH`).
LAST_COUNTING_START = dt.date(LAST_IDM, EXPOSURE_CUTOFF_MONTH, 1) - dt.timedelta(days=1)
#: Share of desa-years with every score equal to the year before from which the page says so.
UNCHANGED_MIN_SHARE = 0.01
#: The first IDM edition (Kemendesa PDTT: 2015).
FIRST_IDM = 2015


def _small(f: Facts, r: tuple, small: bool | None) -> bool:
    """Whether a too-recent group ``r`` (year, code, agreements, desa, ...) has the size asked.

    ``None``: any; ``True``: fewer desa than the comparison's minimum; ``False``: at least that.
    """
    return small is None or (r[3] < f.min_treated) == small


def _window(f: Facts, w) -> dict:
    """The start dates an unrecorded agreement needs to add an evaluated desa to the IDM panel.

    After the first year's cut-off and by the last edition's (the panel's last edition is in).
    """
    first = dt.date(f.first_year, EXPOSURE_CUTOFF_MONTH, 1)
    return {"start": w.date(first), "cutoff": w.date(LAST_COUNTING_START)}


def _finite(x: object) -> bool:
    try:
        return math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True, kw_only=True)
class Facts:
    """Everything a district brief can state, computed once per brief (codes and numbers)."""

    name: str = ""
    short_name: str = ""
    applicable: bool = True
    estimable: bool = False
    reason: str = ""
    grade: str = "not_estimable"
    reasons: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    outcome: str = "nilai_idm"
    estimate: float = _NAN
    ci_low: float = _NAN
    ci_high: float = _NAN
    n_treated: int = 0
    n_control: int = 0
    first_year: int = 0
    last_year: int = 0
    pretrend_p: float = _NAN
    pre_max_abs: float = _NAN
    pre_detectable: float = _NAN
    breakdown_mbar: float = _NAN
    mde: float = _NAN
    e_value: float = _NAN
    e_value_bound: float = _NAN
    est_method_requested: str = ""
    est_method_used: str = ""
    n_cells: int = 0
    n_cells_reg_fallback: int = 0
    late_exposed: str = "exclude"
    ps_model: str = ""
    n_late_exposed: int = 0
    n_dropped_missing_year: int = 0
    naive_estimate: float = _NAN
    naive_se: float = _NAN
    mean_last: float = _NAN
    band: str = ""
    band_low: float = _NAN
    band_high: float = _NAN
    n_status_change: int = 0
    n_evaluated_last: int = 0
    #: the earliest exposure year among the evaluated desa (0: none); equal to ``last_year``,
    #: only the year the partnerships started is observed after partnering
    first_cohort: int = 0
    mandiri_share: float = 0.0
    carried_share: float = 0.0
    n_desa_unchanged: int = 0  # desa with every score equal to the previous year's (not carried)
    unchanged_share: float = 0.0  # of the desa-years with a previous year
    n_evaluated: int = 0
    min_evaluated: int = 10
    min_treated: int = 3
    n_desa_ended: int = 0  # partnered desa whose every agreement has ended (status selesai)
    n_from_start: int = 0  # partnered desa counted from the panel's first year (not evaluated)
    n_partner_types_estimated: int = -1  # partner types with a subgroup estimate (-1: unknown)
    n_too_recent: int = 0
    n_no_code: int = 0
    no_code_names: tuple[str, ...] = ()  # desa names of those rows, where a file gives them
    #: (exposure year, settle code, agreements, desa, kecamatan, same-instrument years before)
    #: of the too-recent agreements at desa new to partnering (``brief._recent_by_year``)
    recent: tuple[tuple[int, str, int, int, int, int], ...] = ()
    synthetic: bool = False
    n_recent_from_files: int = 0  # too-recent agreements read from agreements files (not simulated)
    recent_files: tuple[str, ...] = ()
    recent_repeat: tuple[str, ...] = ()  # too-recent desa that partnered before (repeat)
    n_cross_methods: int = 0  # adjusted one-year comparisons estimated (regression, IPW, ...)
    cross_sure_pos: int = 0  # of them, intervals wholly above zero
    cross_sure_neg: int = 0  # ... wholly below zero
    naive_ci_low: float = _NAN
    naive_ci_high: float = _NAN
    cross_year: int = 0
    trim: float = _NAN
    has_propensity: bool = False
    n_trimmed_treated: int = 0
    n_trimmed_control: int = 0
    n_cross_treated: int = 0
    n_cross_control: int = 0
    #: the graded result's method: the staggered headline, or ``synthetic_did`` (few desa)
    headline_method: str = "cs_did"
    few_reason: str = ""  # why the few-desa comparison, tried, could not be made
    cohort: int = 0  # the few-desa comparison's cohort (exposure year)
    n_placebos: int = 0
    # distance checks (issue 19, ``brief.spillover_facts``): each exclusion radius (km) with the
    # headline re-estimated without comparison desa that close; the near-vs-far test
    spill_excl_km: tuple[int, ...] = ()
    spill_excl_estimate: tuple[float, ...] = ()
    spill_near_km: float = _NAN
    spill_near_estimate: float = _NAN
    spill_near_p: float = _NAN

    # -- derived facts (each a plain function of the fields) ----------------------------------
    @property
    def excludes_zero(self) -> bool:
        """The headline's 95% interval lies wholly above or wholly below zero."""
        return self.estimable and (self.ci_low > 0 or self.ci_high < 0)

    @property
    def positive(self) -> bool:
        """The headline estimate is zero or above."""
        return self.estimable and self.estimate >= 0

    @property
    def pretrend_rejects(self) -> bool:
        """The pre-period test rejects parallel pre-trends (p < :data:`PRETREND_ALPHA`)."""
        return self.estimable and _finite(self.pretrend_p) and self.pretrend_p < PRETREND_ALPHA

    @property
    def pre_gap_exceeds(self) -> bool:
        """The largest pre-period gap is larger than the headline itself."""
        return (
            self.estimable and _finite(self.pre_max_abs) and self.pre_max_abs > abs(self.estimate)
        )

    @property
    def has_result(self) -> bool:
        """A difference the page treats as a result: it excludes zero and no earlier gap."""
        return self.excludes_zero and not self.earlier_gap

    @property
    def few(self) -> bool:
        """The graded result is the few-desa comparison (synthetic DiD), not the staggered one."""
        return self.estimable and self.headline_method != "cs_did"

    @property
    def earlier_gap(self) -> bool:
        """The gap after the start may continue a gap before it (test rejects or gap larger)."""
        return self.pretrend_rejects or self.pre_gap_exceeds

    @property
    def supports_size(self) -> bool:
        """The grade lets the page put the effect in units (strong or suggestive evidence)."""
        return self.estimable and self.grade in ("strong", "suggestive") and not self.earlier_gap

    @property
    def idm_complete(self) -> bool:
        """The outcome is on the IDM and its last edition is in the data.

        No later IDM year can add years or desa (the Indeks Desa that follows must not be
        spliced onto it).
        """
        return self.outcome in OUTCOMES and self.last_year >= LAST_IDM

    @property
    def short_panel(self) -> bool:
        """Fewer than 3 IDM years, and earlier editions exist (:data:`FIRST_IDM`).

        Adding them allows a trend check before partnering and evaluates desa partnered from
        the first year.
        """
        return (
            self.applicable
            and self.outcome in OUTCOMES
            and 0 < self.last_year - self.first_year + 1 < 3
            and self.first_year > FIRST_IDM
        )

    @property
    def only_start_year(self) -> bool:
        """The staggered headline sees only the start year after partnering (no later year)."""
        return self.estimable and not self.few and self.first_cohort == self.last_year > 0

    @property
    def regression_only(self) -> bool:
        """The doubly robust headline fell back to outcome regression in every cell."""
        return (
            self.estimable
            and not self.few
            and self.est_method_requested == "dr"
            and self.n_cells > 0
            and self.n_cells_reg_fallback == self.n_cells
        )

    @property
    def naive_gap(self) -> float:
        """The unadjusted comparison minus the headline."""
        return self.naive_estimate - self.estimate

    @property
    def naive_noise(self) -> float:
        """The gap the unadjusted comparison's own noise can make (:data:`NOISE_Z` times its SE)."""
        return NOISE_Z * self.naive_se

    @property
    def naive_known(self) -> bool:
        """The headline and the unadjusted comparison both have an estimate and an SE."""
        return self.estimable and _finite(self.naive_estimate) and _finite(self.naive_se)

    @property
    def naive_only_excludes_zero(self) -> bool:
        """The unadjusted comparison's interval excludes zero and the headline's does not."""
        naive_sure = self.naive_ci_low > 0 or self.naive_ci_high < 0
        return self.naive_known and naive_sure and not self.excludes_zero

    @property
    def n_trimmed(self) -> int:
        """Desa left out of the weighting for a propensity score outside the trimming bounds."""
        return self.n_trimmed_treated + self.n_trimmed_control

    @property
    def index_outcome(self) -> bool:
        """The outcome is an index (not the status-upgrade share)."""
        return self.outcome != "naik_status"

    @property
    def band_width(self) -> float:
        """The width of the status band the district mean lies in."""
        return self.band_high - self.band_low

    @property
    def has_band(self) -> bool:
        """The IDM headline is estimated and the district mean lies in a bounded status band."""
        return self.estimable and self.outcome == "nilai_idm" and _finite(self.band_width)


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One catalog sentence: where it goes, what it needs and when it is true."""

    key: str
    section: str
    needs: tuple[str, ...]
    when: Callable[[Facts], bool]
    args: Callable[[Facts, object], dict] = lambda f, w: {}
    plural: str = ""  # a fact whose count selects the plural form
    each: Callable[[Facts, object], list[dict]] | None = None  # one sentence per item


def _eff(w, f: Facts, x: float, signed: bool = False) -> str:
    return w.effect(x, f.outcome, signed)


def _headline_args(f: Facts, w) -> dict:
    lo, hi = w.interval(f.ci_low, f.ci_high, f.outcome)
    return {"outcome": w.outcome(f.outcome), "est": _eff(w, f, f.estimate), "lo": lo, "hi": hi}


def _methods_disagree(f: Facts) -> bool:
    """The result is sized, and no other adjusted comparison is sure in its direction."""
    return (
        f.supports_size
        and f.n_cross_methods > 0
        and (f.cross_sure_pos if f.positive else f.cross_sure_neg) == 0
    )


def _why(f: Facts, w) -> dict:
    return {"why": w.join([w.t(f"why.{r}") for r in f.reasons])}


def _naive_args(f: Facts, w) -> dict:
    return {
        "year": f.cross_year or f.last_year,
        "naive": _eff(w, f, f.naive_estimate, True),
        "head": _eff(w, f, f.estimate, True),
        "noise": _eff(w, f, f.naive_noise),
    }


def _band_args(f: Facts, w) -> dict:
    return {
        "share": w.pct(abs(f.estimate) / f.band_width),
        "status": w.t(f"status.{f.band.replace(' ', '_').lower()}"),
        "lo": w.num(f.band_low, 4),
        "hi": w.num(f.band_high, 4),
        "mean": w.num(f.mean_last, 3),
    }


def _judged(r: tuple) -> bool:
    """A too-recent year judged within one instrument.

    Not the first Indeks Desa year: its sentence already says it can at best give an indication.
    """
    return r[1] != "first_indeks_desa"


def _tiny(f: Facts, r: tuple, twin: bool) -> bool:
    """A too-recent year with fewer new desa than the staggered comparison needs.

    ``twin``: whether the instrument has the years before that a synthetic twin needs.
    """
    return _judged(r) and 0 < r[3] < f.min_treated and (r[5] >= FEW_MIN_PRE) == twin


def _key(grade: str, up: bool | None) -> Callable[[Facts], bool]:
    def cond(f: Facts) -> bool:
        if not f.estimable or f.earlier_gap or f.grade != grade:
            return False
        return up is None or f.positive == up

    return cond


_MAIN = ("estimable", "grade", "pretrend_p", "estimate")

CLAIMS: tuple[Claim, ...] = (
    # -- key message --------------------------------------------------------------------------
    Claim(key="key.strong.up", section="key", needs=_MAIN, when=_key("strong", True)),
    Claim(key="key.strong.down", section="key", needs=_MAIN, when=_key("strong", False)),
    Claim(key="key.suggestive.up", section="key", needs=_MAIN, when=_key("suggestive", True)),
    Claim(key="key.suggestive.down", section="key", needs=_MAIN, when=_key("suggestive", False)),
    Claim(key="key.insufficient", section="key", needs=_MAIN, when=_key("insufficient", None)),
    Claim(
        key="key.pretrend",
        section="key",
        needs=("estimable", "pretrend_p"),
        when=lambda f: f.pretrend_rejects,
        args=lambda f, w: {"p": w.p(f.pretrend_p)},
    ),
    Claim(
        key="key.pre_gap",
        section="key",
        needs=("estimable", "pretrend_p", "pre_max_abs", "estimate"),
        when=lambda f: f.pre_gap_exceeds and not f.pretrend_rejects,
        args=lambda f, w: {"pre": _eff(w, f, f.pre_max_abs), "est": _eff(w, f, f.estimate)},
    ),
    Claim(
        key="key.not_estimable",
        section="key",
        needs=("estimable", "reason"),
        when=lambda f: f.applicable and not f.estimable,
        args=lambda f, w: {"why": w.reason(f.reason)},
    ),
    Claim(
        key="few.not_estimable",
        section="key",
        needs=("estimable", "few_reason"),
        when=lambda f: f.applicable and not f.estimable and bool(f.few_reason),
        args=lambda f, w: {"why": w.reason(f.few_reason)},
    ),
    Claim(
        key="few.used",
        section="headline",
        needs=("headline_method", "n_treated", "cohort"),
        when=lambda f: f.few,
        args=lambda f, w: {"n": w.int(f.n_treated), "cohort": f.cohort, "n0": w.int(f.n_control)},
    ),
    Claim(
        key="headline.positive",
        section="headline",
        needs=("estimate", "ci_low", "ci_high", "pretrend_p"),
        when=lambda f: f.estimable and f.positive and not f.earlier_gap,
        args=_headline_args,
    ),
    Claim(
        key="headline.negative",
        section="headline",
        needs=("estimate", "ci_low", "ci_high", "pretrend_p"),
        when=lambda f: f.estimable and not f.positive and not f.earlier_gap,
        args=_headline_args,
    ),
    Claim(
        key="headline.gap",
        section="headline",
        needs=("estimate", "ci_low", "ci_high", "pretrend_p"),
        when=lambda f: f.pretrend_rejects,
        args=lambda f, w: {**_headline_args(f, w), "est": _eff(w, f, f.estimate, True)},
    ),
    Claim(
        key="headline.gap_pre",
        section="headline",
        needs=("estimate", "ci_low", "ci_high", "pretrend_p", "pre_max_abs"),
        when=lambda f: f.pre_gap_exceeds and not f.pretrend_rejects,
        args=lambda f, w: {**_headline_args(f, w), "est": _eff(w, f, f.estimate, True)},
    ),
    Claim(
        key="grade_text.strong",
        section="headline",
        needs=("grade",),
        when=lambda f: f.estimable and f.grade == "strong",
    ),
    Claim(
        key="grade_text.suggestive",
        section="headline",
        needs=("grade", "reasons"),
        when=lambda f: f.estimable and f.grade == "suggestive",
        args=_why,
    ),
    Claim(
        key="grade_text.insufficient",
        section="headline",
        needs=("grade", "reasons", "ci_low", "ci_high"),
        when=lambda f: (
            f.estimable and f.grade == "insufficient" and not f.excludes_zero and not f.earlier_gap
        ),
        args=_why,
    ),
    Claim(
        key="grade_text.unattributed",
        section="headline",
        needs=("grade", "reasons", "ci_low", "ci_high"),
        when=lambda f: f.grade == "insufficient" and f.excludes_zero and not f.earlier_gap,
        args=_why,
    ),
    Claim(
        # the key message gives the earlier gap; a range over zero is said too
        key="headline.ci_zero_too",
        section="headline",
        needs=("ci_low", "ci_high", "pretrend_p", "pre_max_abs", "estimate"),
        when=lambda f: f.estimable and f.earlier_gap and not f.excludes_zero,
    ),
    Claim(
        key="caveat.fragile",
        section="headline",
        needs=("caveats", "breakdown_mbar"),
        when=lambda f: f.has_result and "fragile_to_trend_violation" in f.caveats,
        args=lambda f, w: {"m": w.num(f.breakdown_mbar, 2)},
    ),
    Claim(
        # page 1 says what was computed when the doubly robust estimator ran nowhere
        key="caveat.regression_only",
        section="headline",
        needs=("est_method_requested", "n_cells", "n_cells_reg_fallback"),
        when=lambda f: f.regression_only,
    ),
    Claim(
        key="caveat.pre_gap_larger",
        section="headline",
        needs=("pre_max_abs", "estimate"),
        when=lambda f: f.pre_gap_exceeds and f.pretrend_rejects,
        args=lambda f, w: {"pre": _eff(w, f, f.pre_max_abs), "est": _eff(w, f, f.estimate)},
    ),
    Claim(
        key="caveat.methods_disagree",
        section="headline",
        needs=("grade", "estimate", "n_cross_methods", "cross_sure_pos", "cross_sure_neg"),
        when=_methods_disagree,
        args=lambda f, w: {"n": w.int(f.n_cross_methods), "year": f.cross_year or f.last_year},
    ),
    Claim(
        key="caveat.below_mde",
        section="headline",
        needs=("caveats", "mde", "ci_low", "ci_high"),
        # also where the page gives no size (an earlier gap) but the interval excludes zero:
        # the caveat is computed there, and an official may still read the number
        when=lambda f: (
            (f.has_result or (f.estimable and f.excludes_zero)) and "below_mde" in f.caveats
        ),
        args=lambda f, w: {"mde": _eff(w, f, f.mde), "est": _eff(w, f, f.estimate)},
    ),
    # -- the effect in units an official uses -------------------------------------------------
    Claim(
        key="units.mean",
        section="units",
        needs=("estimate", "mean_last", "outcome"),
        when=lambda f: (
            f.supports_size and f.index_outcome and _finite(f.mean_last) and f.mean_last > 0
        ),
        args=lambda f, w: {
            "est": _eff(w, f, f.estimate),
            "outcome": w.outcome(f.outcome),
            "mean": w.num(f.mean_last, 3),
            "last": f.last_year,
            "share": w.pct(abs(f.estimate) / f.mean_last, 1),
        },
    ),
    Claim(
        key="units.band",
        section="units",
        needs=("estimate", "band_low", "band_high", "mean_last"),
        when=lambda f: f.supports_size and f.has_band,
        args=_band_args,
    ),
    *(
        Claim(
            # "k of m would change status": up for a positive estimate, down for a negative one
            key=key,
            section="units",
            needs=("estimate", "n_status_change", "n_evaluated_last"),
            when=lambda f, up=up: (
                f.supports_size
                and f.has_band
                and f.positive == up
                and f.n_evaluated_last > 0
                and f.n_status_change > 0
            ),
            args=lambda f, w: {
                "k": w.int(f.n_status_change),
                "m": w.int(f.n_evaluated_last),
                "est": _eff(w, f, f.estimate),
                "last": f.last_year,
            },
        )
        for key, up in (("units.status_change", True), ("units.status_change_neg", False))
    ),
    Claim(
        key="units.status_none",
        section="units",
        needs=("estimate", "n_status_change", "n_evaluated_last"),
        when=lambda f: (
            f.supports_size and f.has_band and f.n_evaluated_last > 0 and f.n_status_change == 0
        ),
        args=lambda f, w: {"m": w.int(f.n_evaluated_last), "last": f.last_year},
    ),
    # -- what can and cannot be concluded -----------------------------------------------------
    Claim(
        key="means.can.pretrend",
        section="can",
        needs=("pretrend_p",),
        when=lambda f: f.pretrend_rejects,
    ),
    Claim(
        key="means.can.pre_gap",
        section="can",
        needs=("pretrend_p", "pre_max_abs", "estimate"),
        when=lambda f: f.pre_gap_exceeds and not f.pretrend_rejects,
    ),
    Claim(
        key="means.can.not_estimable",
        section="can",
        needs=("estimable",),
        when=lambda f: f.applicable and not f.estimable,
    ),
    Claim(key="means.cannot", section="can", needs=("estimable",), when=lambda f: f.estimable),
    Claim(
        key="means.ended",
        section="can",
        needs=("estimable", "n_desa_ended", "n_evaluated"),
        when=lambda f: f.estimable and f.n_desa_ended > 0,
        args=lambda f, w: {"m": w.int(f.n_evaluated)},
        plural="n_desa_ended",
    ),
    Claim(
        key="means.only_start_year",
        section="can",
        needs=("estimable", "first_cohort", "last_year"),
        when=lambda f: f.only_start_year,
        args=lambda f, w: {"year": f.last_year},
    ),
    Claim(
        key="means.cannot_subgroups",
        section="can",
        needs=("estimable", "n_partner_types_estimated"),
        when=lambda f: f.estimable and f.n_partner_types_estimated != 0,
    ),
    Claim(
        key="means.cannot_subgroups_none",
        section="can",
        needs=("estimable", "n_partner_types_estimated"),
        when=lambda f: f.estimable and f.n_partner_types_estimated == 0,
    ),
    # -- recommendations (rules in the module docstring) --------------------------------------
    Claim(
        # scores repeated from the year before (caveat.unchanged's rule): ask whether updated
        key="rec.unchanged",
        section="rec",
        needs=("n_desa_unchanged", "unchanged_share"),
        when=lambda f: f.applicable and f.unchanged_share >= UNCHANGED_MIN_SHARE,
        plural="n_desa_unchanged",
    ),
    Claim(
        key="rec.record_codes",
        section="rec",
        needs=("n_no_code",),
        when=lambda f: f.applicable and f.n_no_code > 0,
        args=lambda f, w: {
            "names": w.t("rec.record_codes.names", names=w.join(list(f.no_code_names)))
            if f.no_code_names
            else ""
        },
        plural="n_no_code",
    ),
    *(
        Claim(
            # agreements at desa new to partnering, by the year they count from; a 2025 group
            # below the comparison's minimum cannot be compared at all (no Indeks Desa year
            # before it, so no synthetic twin either): ``.tiny``
            key=key,
            section="rec",
            needs=("recent", "last_year", "min_treated"),
            when=lambda f, code=code, small=small: any(
                r[1] == code and _small(f, r, small) for r in f.recent
            ),
            each=lambda f, w, code=code, small=small: [
                {
                    "#": d,
                    "n": w.int(n),
                    "d": w.int(d),
                    "year": g,
                    "base": g - 1,
                    "last_idm": LAST_IDM,
                    "min": w.int(f.min_treated),
                }
                for g, s, n, d, _, _ in f.recent
                if s == code and _small(f, (g, s, n, d), small)
            ],
            plural="#",
        )
        for key, code, small in (
            ("rec.settle_idm", "idm", None),
            ("rec.settle_first_indeks_desa", "first_indeks_desa", False),
            ("rec.settle_first_indeks_desa.tiny", "first_indeks_desa", True),
            ("rec.settle_indeks_desa", "indeks_desa", None),
        )
    ),
    Claim(
        key="rec.settle_few",
        section="rec",
        needs=("recent", "min_treated", "min_evaluated"),
        when=lambda f: any(
            _judged(r) and f.min_treated <= r[3] < f.min_evaluated for r in f.recent
        ),
        each=lambda f, w: [
            {"year": r[0], "d": w.int(r[3]), "k": w.int(r[4]), "min": w.int(f.min_evaluated)}
            for r in f.recent
            if _judged(r) and f.min_treated <= r[3] < f.min_evaluated
        ],
    ),
    *(
        Claim(
            # fewer new desa than the staggered comparison needs: the synthetic twin is
            # promised only when the instrument has enough years before (synthetic.MIN_PRE_PERIODS)
            key=f"rec.settle_tiny{suffix}",
            section="rec",
            needs=("recent", "min_treated"),
            when=lambda f, twin=twin: any(_tiny(f, r, twin) for r in f.recent),
            each=lambda f, w, twin=twin: [
                {"#": r[3], "year": r[0], "d": w.int(r[3]), "min": w.int(f.min_treated)}
                for r in f.recent
                if _tiny(f, r, twin)
            ],
            plural="#",
        )
        for suffix, twin in (("", True), (".no_twin", False))
    ),
    Claim(
        key="rec.more_desa",
        section="rec",
        needs=("n_evaluated", "min_evaluated", "outcome", "last_year"),
        when=lambda f: (
            f.estimable
            and f.n_evaluated < f.min_evaluated
            and not f.idm_complete
            and "no_pre_period_test" not in f.reasons
        ),
        args=lambda f, w: {"n": w.int(f.n_evaluated), "min": w.int(f.min_evaluated)},
    ),
    Claim(
        # the IDM ended: waiting adds no IDM year, later partnerships count on the Indeks Desa
        key="rec.more_desa.final",
        section="rec",
        needs=("n_evaluated", "min_evaluated", "outcome", "last_year"),
        when=lambda f: (
            f.estimable
            and f.n_evaluated < f.min_evaluated
            and f.idm_complete
            and "no_pre_period_test" not in f.reasons
        ),
        args=lambda f, w: {
            "n": w.int(f.n_evaluated),
            "min": w.int(f.min_evaluated),
            **_window(f, w),
        },
    ),
    *(
        Claim(
            # "more years" helps only while the IDM continues (``.final``: its last edition is in)
            key=f"rec.mde_{size}{'.final' if final else ''}",
            section="rec",
            needs=("mde", "estimate", "ci_low", "ci_high", "outcome", "last_year"),
            when=lambda f, smaller=smaller, final=final: (
                f.estimable
                and not f.excludes_zero
                and _finite(f.mde)
                and (abs(f.estimate) < f.mde) == smaller
                and f.idm_complete == final
            ),
            args=lambda f, w: {
                "mde": _eff(w, f, f.mde),
                "est": _eff(w, f, f.estimate),
                "last_idm": LAST_IDM,
                **_window(f, w),
            },
        )
        for size, smaller in (("smaller", True), ("near", False))
        for final in (False, True)
    ),
    Claim(
        key="rec.pretrend",
        section="rec",
        needs=("pretrend_p", "pre_max_abs", "estimate"),
        when=lambda f: f.earlier_gap,
    ),
    Claim(
        key="rec.keep_recording",
        section="rec",
        needs=("grade",),
        when=lambda f: f.estimable and f.grade == "strong" and not f.earlier_gap,
    ),
    Claim(
        key="rec.not_estimable",
        section="rec",
        needs=("estimable", "reason"),
        when=lambda f: (
            f.applicable and not f.estimable and f.reason not in ("too_few_treated", "too_recent")
        ),
    ),
    Claim(
        key="rec.not_estimable.few",
        section="rec",
        needs=("estimable", "reason", "n_evaluated", "min_treated"),
        when=lambda f: (
            f.applicable
            and not f.estimable
            and f.reason == "too_few_treated"
            and not f.idm_complete
        ),
        args=lambda f, w: {"n": w.int(f.n_evaluated), "min": w.int(f.min_treated)},
    ),
    Claim(
        # the IDM ended: only agreements started in the window can add a desa
        key="rec.not_estimable.few.final",
        section="rec",
        needs=("estimable", "reason", "n_evaluated", "min_treated", "first_year", "last_year"),
        when=lambda f: (
            f.applicable and not f.estimable and f.reason == "too_few_treated" and f.idm_complete
        ),
        args=lambda f, w: {"n": w.int(f.n_evaluated), "min": w.int(f.min_treated), **_window(f, w)},
    ),
    Claim(
        # two IDM years: earlier editions give a trend check and evaluate the first year's desa
        key="rec.earlier_years",
        section="rec",
        needs=("first_year", "last_year", "outcome", "n_from_start"),
        when=lambda f: f.short_panel,
        args=lambda f, w: {
            "first": f.first_year,
            "first_idm": FIRST_IDM,
            "also": w.n(
                "rec.earlier_years.from_start",
                f.n_from_start,
                n=w.int(f.n_from_start),
                first=f.first_year,
            )
            if f.n_from_start
            else "",
        },
    ),
    Claim(
        # without a result, the page still says that the partnered desa's agreements are over
        key="rec.ended_only",
        section="rec",
        needs=("estimable", "n_desa_ended"),
        when=lambda f: f.applicable and not f.estimable and f.n_desa_ended > 0,
        plural="n_desa_ended",
    ),
    # -- the too-recent agreements -------------------------------------------------------------
    Claim(
        key="recent.real",
        section="recent",
        needs=("synthetic", "n_recent_from_files", "recent_files"),
        when=lambda f: f.synthetic and f.n_recent_from_files > 0,
        args=lambda f, w: {"files": w.join(list(f.recent_files))},
        plural="n_recent_from_files",
    ),
    Claim(
        key="recent.repeat",
        section="recent",
        needs=("recent_repeat", "synthetic"),
        when=lambda f: bool(f.recent_repeat) and not f.synthetic,
        args=lambda f, w: {"names": w.join(list(f.recent_repeat))},
    ),
    Claim(
        # on simulated data the earlier partnership that makes it a repeat is simulated too
        key="recent.repeat.simulated",
        section="recent",
        needs=("recent_repeat", "synthetic"),
        when=lambda f: bool(f.recent_repeat) and f.synthetic,
        args=lambda f, w: {"names": w.join(list(f.recent_repeat))},
    ),
    # -- the technical appendix: methods and sensitivity ---------------------------------------
    Claim(
        key="method_text",
        section="method",
        needs=("estimable", "headline_method"),
        when=lambda f: f.estimable and not f.few,
    ),
    Claim(
        # one cohort, one year after: the staggered, TWFE, Sun-Abraham and unadjusted rows are
        # the same two-year comparison, so their agreement is not a robustness check
        key="method.same_comparison",
        section="method",
        needs=("estimable", "first_cohort", "last_year"),
        when=lambda f: f.only_start_year,
    ),
    Claim(
        key="method_text.few",
        section="method",
        needs=("estimable", "headline_method", "cohort", "n_placebos"),
        when=lambda f: f.few,
        args=lambda f, w: {"cohort": f.cohort, "n": w.int(f.n_treated), "k": w.int(f.n_placebos)},
    ),
    Claim(
        key="compared",
        section="method",
        needs=("n_treated", "n_control"),
        when=lambda f: f.estimable,
        args=lambda f, w: {
            "n1": w.int(f.n_treated),
            "n0": w.int(f.n_control),
            "name": f.name,
            "outcome": w.outcome(f.outcome),
            "first": f.first_year,
            "last": f.last_year,
            # evaluated desa count from the year after the first (from the first: no year before)
            "years": str(f.last_year)
            if f.first_year + 1 >= f.last_year
            else f"{f.first_year + 1}-{f.last_year}",
        },
    ),
    Claim(
        key="est.as_requested",
        section="method",
        needs=("est_method_used", "n_cells_reg_fallback"),
        when=lambda f: f.estimable and bool(f.est_method_used) and f.n_cells_reg_fallback == 0,
        args=lambda f, w: {
            "method": w.join([w.t(f"est_method.{m}") for m in f.est_method_used.split(",")])
        },
    ),
    Claim(
        key="est.fallback",
        section="method",
        needs=("est_method_requested", "n_cells", "n_cells_reg_fallback"),
        when=lambda f: f.estimable and f.n_cells_reg_fallback > 0,
        args=lambda f, w: {
            "asked": w.t(f"est_method.{f.est_method_requested}"),
            "k": w.int(f.n_cells_reg_fallback),
            "n": w.int(f.n_cells),
        },
    ),
    Claim(
        key="est.ps_pooled",
        section="method",
        needs=("ps_model", "est_method_used"),
        when=lambda f: (
            f.estimable
            and f.ps_model == "pooled"
            and bool({"dr", "ipw"} & set(f.est_method_used.split(",")))
        ),
    ),
    *(
        Claim(
            key=f"late.{conv}",
            section="method",
            needs=("late_exposed", "n_late_exposed", "last_year"),
            when=lambda f, conv=conv: (
                f.estimable and f.late_exposed == conv and f.n_late_exposed > 0
            ),
            args=lambda f, w: {"last": f.last_year},
            plural="n_late_exposed",
        )
        for conv in ("exclude", "never_treated")
    ),
    Claim(
        key="dropped.missing_year",
        section="method",
        needs=("n_dropped_missing_year", "first_year", "last_year"),
        when=lambda f: f.estimable and f.n_dropped_missing_year > 0,
        args=lambda f, w: {
            "outcome": w.outcome(f.outcome),
            "first": f.first_year,
            "last": f.last_year,
        },
        plural="n_dropped_missing_year",
    ),
    Claim(
        key="caveat.selection", section="method", needs=("estimable",), when=lambda f: f.estimable
    ),
    Claim(
        key="caveat.naive_larger",
        section="method",
        needs=("naive_estimate", "naive_se", "estimate"),
        when=lambda f: f.naive_known and f.naive_gap > f.naive_noise and f.has_result,
        args=_naive_args,
    ),
    Claim(
        key="caveat.naive_smaller",
        section="method",
        needs=("naive_estimate", "naive_se", "estimate"),
        when=lambda f: f.naive_known and f.naive_gap < -f.naive_noise and f.has_result,
        args=_naive_args,
    ),
    Claim(
        # no result to overstate, but the unadjusted comparison alone looks sure, and apart
        key="caveat.naive_gone",
        section="method",
        needs=("naive_estimate", "naive_se", "estimate", "naive_ci_low", "naive_ci_high"),
        when=lambda f: (
            f.naive_known and abs(f.naive_gap) > f.naive_noise and f.naive_only_excludes_zero
        ),
        args=_naive_args,
    ),
    Claim(
        key="caveat.naive_close",
        section="method",
        needs=("naive_estimate", "naive_se", "estimate", "naive_ci_low", "naive_ci_high"),
        when=lambda f: (
            f.naive_known and abs(f.naive_gap) <= f.naive_noise and not f.naive_only_excludes_zero
        ),
        args=_naive_args,
    ),
    Claim(
        key="caveat.naive_close_sure",
        section="method",
        needs=("naive_estimate", "naive_se", "estimate", "naive_ci_low", "naive_ci_high"),
        when=lambda f: (
            f.naive_known and abs(f.naive_gap) <= f.naive_noise and f.naive_only_excludes_zero
        ),
        args=_naive_args,
    ),
    Claim(
        key="trim.count",
        section="method",
        needs=("has_propensity", "n_trimmed_treated", "n_trimmed_control", "trim"),
        when=lambda f: f.estimable and f.has_propensity and f.n_trimmed > 0,
        args=lambda f, w: {
            "year": f.cross_year,
            "k0": w.int(f.n_trimmed_control),
            "n0": w.int(f.n_cross_control),
            "k1": w.int(f.n_trimmed_treated),
            "n1": w.int(f.n_cross_treated),
            "lo": w.num(f.trim, 2),
            "hi": w.num(1 - f.trim, 2),
        },
    ),
    Claim(
        key="trim.none",
        section="method",
        needs=("has_propensity", "n_trimmed_treated", "n_trimmed_control", "trim"),
        when=lambda f: f.estimable and f.has_propensity and f.n_trimmed == 0,
        args=lambda f, w: {
            "year": f.cross_year,
            "lo": w.num(f.trim, 2),
            "hi": w.num(1 - f.trim, 2),
        },
    ),
    Claim(
        key="caveat.ceiling",
        section="method",
        needs=("mandiri_share",),
        when=lambda f: f.estimable and f.mandiri_share > 0,
        # MANDIRI starts where MAJU's upper bound ends (schema.IDM_THRESHOLDS)
        args=lambda f, w: {
            "share": w.pct(f.mandiri_share),
            "last": f.last_year,
            "low": w.num(dict(IDM_THRESHOLDS)["MAJU"], 4),
        },
    ),
    Claim(
        key="caveat.carried",
        section="method",
        needs=("carried_share",),
        when=lambda f: f.applicable and f.carried_share > 0,
        args=lambda f, w: {"share": w.pct(f.carried_share, 1)},
    ),
    Claim(
        # scores repeated from the previous year in the source (a survey not redone), said from
        # :data:`UNCHANGED_MIN_SHARE` of the desa-years: below it they may be chance
        key="caveat.unchanged",
        section="method",
        needs=("n_desa_unchanged", "unchanged_share"),
        when=lambda f: f.applicable and f.unchanged_share >= UNCHANGED_MIN_SHARE,
        args=lambda f, w: {"share": w.pct(f.unchanged_share, 0)},
        plural="n_desa_unchanged",
    ),
    Claim(
        key="caveat.causal",
        section="method",
        needs=("estimable", "e_value", "ci_low", "ci_high", "pre_max_abs", "pretrend_p"),
        when=lambda f: f.has_result and _finite(f.e_value),
    ),
    Claim(
        key="evalue.point",
        section="sens",
        needs=("e_value", "ci_low", "ci_high", "pre_max_abs", "pretrend_p"),
        when=lambda f: f.has_result and _finite(f.e_value),
        args=lambda f, w: {"ev": w.num(f.e_value, 2)},
    ),
    Claim(
        key="evalue.bound",
        section="sens",
        needs=("e_value", "e_value_bound"),
        when=lambda f: f.has_result and _finite(f.e_value) and f.e_value_bound > 1,
        args=lambda f, w: {"evb": w.num(f.e_value_bound, 2)},
    ),
    Claim(
        key="evalue.bound_null",
        section="sens",
        needs=("e_value", "e_value_bound"),
        when=lambda f: f.has_result and _finite(f.e_value) and not f.e_value_bound > 1,
    ),
    Claim(
        key="sens.breakdown",
        section="sens",
        needs=("breakdown_mbar", "ci_low", "ci_high"),
        when=lambda f: f.excludes_zero and _finite(f.breakdown_mbar) and f.breakdown_mbar > 0,
        args=lambda f, w: {"value": w.num(f.breakdown_mbar, 2)},
    ),
    Claim(
        # the case that holds is said: the range already includes zero, or the value is 0
        key="sens.no_breakdown",
        section="sens",
        needs=("breakdown_mbar", "ci_low", "ci_high"),
        when=lambda f: f.estimable and _finite(f.breakdown_mbar) and not f.excludes_zero,
    ),
    Claim(
        key="sens.no_breakdown.zero",
        section="sens",
        needs=("breakdown_mbar", "ci_low", "ci_high"),
        when=lambda f: f.excludes_zero and _finite(f.breakdown_mbar) and f.breakdown_mbar <= 0,
    ),
    Claim(
        key="sens.pre_detectable",
        section="sens",
        needs=("pre_detectable",),
        when=lambda f: f.estimable and _finite(f.pre_detectable),
        args=lambda f, w: {"value": _eff(w, f, f.pre_detectable)},
    ),
    Claim(
        key="pretrend",
        section="sens",
        needs=("pretrend_p",),
        when=lambda f: f.estimable and _finite(f.pretrend_p),
        args=lambda f, w: {"p": w.p(f.pretrend_p)},
    ),
    Claim(
        key="mde",
        section="sens",
        needs=("mde",),
        when=lambda f: f.estimable and _finite(f.mde),
        args=lambda f, w: {"mde": _eff(w, f, f.mde)},
    ),
    # -- distance checks (issue 19): on the decision page only when they change the reading ----
    Claim(
        key="spill.excluded",
        section="can",
        needs=("spill_excl_km", "spill_excl_estimate", "ci_low", "ci_high"),
        when=lambda f: bool(spill_moved(f)),
        args=lambda f, w: _spill_moved_args(f, w),
    ),
    Claim(
        key="spill.near",
        section="can",
        needs=("spill_near_p", "spill_near_estimate", "spill_near_km"),
        when=lambda f: spill_near_rejects(f),
        args=lambda f, w: {
            "km": w.int(int(f.spill_near_km)),
            "est": _eff(w, f, f.spill_near_estimate, True),
            "p": w.p(f.spill_near_p),
        },
    ),
)

BY_KEY = {c.key: c for c in CLAIMS}


#: The near-vs-far spillover test "rejects" on the decision page below this p-value
#: (``spill.near``). Calibrated by ``scripts/study_spillover.py`` (240 seeds, 677 district tests
#: per world, t reference with the near kecamatan less one): without spillovers p < 0.05 in
#: 5.3% of districts, p < 0.01 in 0.9%; with spillovers of the partner's full effect within
#: 5 km, 45% and 21%. A page-1 sentence is held to 1%; the appendix gives the p.
SPILLOVER_ALPHA = 0.01


def spill_moved(f: Facts) -> tuple[tuple[int, float], ...]:
    """The exclusion radii whose estimate lies outside the headline's 95% interval (km, estimate).

    Leaving out the comparison desa within the radius of a partnered desa moves the estimate
    beyond the headline's own uncertainty: neighbours share in (or lose from) the partnerships.
    """
    if not (f.estimable and _finite(f.ci_low) and _finite(f.ci_high)):
        return ()
    pairs = zip(f.spill_excl_km, f.spill_excl_estimate, strict=True)
    return tuple((k, e) for k, e in pairs if _finite(e) and not f.ci_low <= e <= f.ci_high)


def spill_near_rejects(f: Facts) -> bool:
    """The near-vs-far test rejects no spillover (p < :data:`SPILLOVER_ALPHA`)."""
    return f.estimable and _finite(f.spill_near_p) and f.spill_near_p < SPILLOVER_ALPHA


def _spill_moved_args(f: Facts, w) -> dict:
    km, est = spill_moved(f)[0]  # the smallest radius that moves it
    lo, hi = w.interval(f.ci_low, f.ci_high, f.outcome)
    return {"km": w.int(km), "est": _eff(w, f, est, True), "lo": lo, "hi": hi}


@dataclass(frozen=True, kw_only=True)
class Sentence:
    """A claim that holds, worded: its catalog key and its text."""

    key: str
    text: str


#: The sentences that use a glossary term: the term is defined only on a page showing one of
#: them (``"estimate"``: any estimate; ``"naive"``: the unadjusted comparison was computed).
GLOSSARY_USES: dict[str, tuple[str, ...]] = {
    "did": ("estimate",),
    "interval": ("estimate",),
    "pretrend": ("pretrend", "key.pretrend", "means.can.pretrend", "rec.pretrend"),
    "mde": (
        "mde",
        "caveat.below_mde",
        "rec.mde_smaller",
        "rec.mde_smaller.final",
        "rec.mde_near",
        "rec.mde_near.final",
    ),
    "evalue": ("evalue.point",),
    "breakdown": ("sens.breakdown", "sens.no_breakdown", "caveat.fragile"),
    "naive": ("naive",),
    "fdr": ("estimate",),
}


def glossary_terms(facts: Facts) -> tuple[str, ...]:
    """The glossary's terms for a page: only those a sentence or table of the page uses.

    A term is kept when one of its :data:`GLOSSARY_USES` holds; the synthetic twin where the
    page uses one (its result, or its reason for not running).
    """
    used = holds(facts)
    if facts.estimable:
        used.add("estimate")
    if facts.estimable and _finite(facts.naive_estimate):
        used.add("naive")
    twin = facts.few or bool(facts.few_reason) or "few_desa" in facts.reasons
    return tuple(
        t
        for t in GLOSSARY
        if (t == "synthetic" and twin) or any(k in used for k in GLOSSARY_USES.get(t, ()))
    )


def holds(facts: Facts) -> set[str]:
    """Keys of every declared claim whose condition holds for ``facts``."""
    return {c.key for c in CLAIMS if c.when(facts)}


def shown(facts: Facts, section: str, w) -> list[Sentence]:
    """The sentences of ``section`` whose conditions hold, in declaration order, worded by ``w``."""
    out = []
    for c in CLAIMS:
        if c.section != section or not c.when(facts):
            continue
        for kw in c.each(facts, w) if c.each is not None else [c.args(facts, w)]:
            # ``plural="#"``: each item's own count (its ``"#"``) selects the plural form
            count = kw.pop("#", 0) if c.plural == "#" else getattr(facts, c.plural, 0)
            text = w.n(c.key, count, **kw) if c.plural else w.t(c.key, **kw)
            out.append(Sentence(key=c.key, text=text))
    return out


# -- computing the facts ------------------------------------------------------------------------
def status_band(value: float) -> tuple[str, float, float]:
    """The IDM status band holding ``value``: its label and bounds (0 and 1 at the ends)."""
    lo = 0.0
    for label, upper in IDM_THRESHOLDS:
        if value <= upper:
            return label, lo, min(upper, 1.0)
        lo = upper
    return IDM_THRESHOLDS[-1][0], lo, 1.0


def _status(v: np.ndarray) -> np.ndarray:
    uppers = np.array([u for _, u in IDM_THRESHOLDS[:-1]])
    return np.searchsorted(uppers, v, side="left")


def status_changes(values: np.ndarray, effect: float) -> int:
    """How many of ``values`` (IDM) fall in another status band once ``effect`` is taken away."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return int((_status(v) != _status(v - effect)).sum())


def panel_facts(panel: pd.DataFrame, outcome: str, last_year: int, estimate: float) -> dict:
    """District mean and band of the outcome, and the evaluated desa a status boundary away.

    Evaluated desa are those first exposed after the panel's first year and by ``last_year``:
    a desa partnered from the first year has no pre-period year, so the staggered
    difference-in-differences (Callaway & Sant'Anna 2021) cannot compare it with itself
    before partnering and it is not counted (``n_evaluated_last``).
    """
    last = panel[panel["tahun"] == last_year]
    first_year = int(panel["tahun"].min()) if len(panel) else last_year
    out: dict = {}
    if outcome in last and len(last):
        mean = float(last[outcome].mean())
        out["mean_last"] = mean
        if outcome == "nilai_idm" and math.isfinite(mean):
            out["band"], out["band_low"], out["band_high"] = status_band(mean)
    if "g" in last and outcome == "nilai_idm" and math.isfinite(estimate):
        ev = last[(last["g"] > first_year) & (last["g"] <= last_year)]["nilai_idm"].dropna()
        out["n_evaluated_last"] = len(ev)
        out["n_status_change"] = status_changes(ev.to_numpy(), estimate)
    if "g" in last and len(last):
        cohorts = last.loc[(last["g"] > first_year) & (last["g"] <= last_year), "g"]
        out["first_cohort"] = int(cohorts.min()) if len(cohorts) else 0
    if "status_idm" in last and len(last):
        out["mandiri_share"] = float((last["status_idm"] == "MANDIRI").mean())
    return out


__all__ = [
    "BY_KEY",
    "CLAIMS",
    "GLOSSARY",
    "GLOSSARY_USES",
    "NOISE_Z",
    "PRETREND_ALPHA",
    "SPILLOVER_ALPHA",
    "Claim",
    "Facts",
    "Sentence",
    "glossary_terms",
    "holds",
    "panel_facts",
    "shown",
    "spill_moved",
    "spill_near_rejects",
    "status_band",
    "status_changes",
]
