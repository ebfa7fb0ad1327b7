"""One district, step by step: the calls a report notebook makes, in order.

Each function takes and returns frozen objects, so a notebook is one call per step:
``prepare`` -> ``describe_district`` -> ``estimate_main`` -> ``estimate_cross_section`` ->
``estimate_outcomes`` -> ``estimate_heterogeneity`` -> ``judge_evidence`` -> ``save_results``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from analysis import __version__, paths
from analysis.design import (
    OUTCOMES,
    Design,
    agreement_exposure,
    analysis_panel,
    desa_years,
    rows_in_district,
    with_exposure,
)
from analysis.errors import OptionError, check_option
from analysis.files import neutralise_frame, write_file_atomically
from analysis.inputs.coordinates import desa_points
from analysis.inputs.dataset import Dataset, load_dataset, slice_for
from analysis.inputs.frame import District, resolve_district, villages_of
from analysis.inputs.registry import read_agreements
from analysis.methods.crosssection import TRIM, CrossSection, compare_year
from analysis.methods.describe import (
    Counts,
    count_desa,
    coverage,
    merged_registry,
    outcome_summary,
    partnership_counts,
    status_transitions,
)
from analysis.methods.eventstudy import sun_abraham
from analysis.methods.honest import event_study_breakdown
from analysis.methods.inference import DEFAULT_DRAWS, DEFAULT_SEED
from analysis.methods.options import (
    Aggregation,
    BasePeriod,
    BootWeights,
    ControlGroup,
    EstMethod,
    Grade,
    Inference,
    LateExposed,
    Method,
    MultipleTesting,
    PropensityModel,
    Vcov,
    allowed,
)
from analysis.methods.panel import (
    MIN_TREATED,
    Staggered,
    apply_late_exposed,
    callaway_santanna,
    twfe,
)
from analysis.methods.results import (
    MIN_CAN_MOVE_UP,
    MIN_EVALUATED,
    MIN_PRE_PERIODS,
    MIN_SUBGROUP_CLUSTERS,
    MIN_SUBGROUP_DESA,
    Estimate,
    NotEstimable,
    Result,
    to_frame,
)
from analysis.methods.sensitivity import (
    Breakdown,
    EValue,
    e_value,
    mde_from_se,
)
from analysis.methods.spillover import (
    DISTANCE_COVARIATES,
    EXCLUSION_RADII_KM,
    EXPOSURE_METHOD,
    MIN_COMPARISON,
    MIN_NEAR,
    MIN_NEAR_CLUSTERS,
    NEAR_KM,
    SpilloverCheck,
    check_spillover,
    distance_covariates,
)
from analysis.methods.subgroups import SubgroupComparison, compare_subgroups
from analysis.methods.synthetic import MIN_PRE_PERIODS as FEW_MIN_PRE
from analysis.methods.synthetic import FewDesa, few_desa
from analysis.schema import IDM_STATUSES, PARTNER_TYPES, SECTORS
from analysis.timing import timed


@dataclass(frozen=True, kw_only=True)
class Specification:
    """Every choice of the district analysis.

    Every choice of the district analysis, checked when built (a wrong value is refused
    with the supported values).

    Parameters
    ----------
    covariates
        Baseline covariates for the staggered estimator, TWFE and the cross-section; ``None``:
        the design's defaults present in the data; ``()``: none (unconditional). Besides the
        data's columns, ``"dist_partner_km"`` (km to the nearest other partnered desa) and
        ``"dist_kecamatan_km"`` (km to the kecamatan's centre) are measured from the desa's
        points (:func:`analysis.methods.spillover.distance_covariates`); asked for where no
        desa of the district has a point, they are refused (:func:`prepare`).
    est_method, control_group, base_period, anticipation, aggregation
        Callaway-Sant'Anna options (R ``did`` names). The headline uses ``est_method`` with the
        covariates; the unconditional estimate is reported beside it.
    late_exposed
        Desa first exposed after the last outcome year: ``"exclude"`` (default; left out of
        every comparison, reported as too recent) or ``"never_treated"`` (comparison desa in
        every estimator, as R ``did`` counts them); the brief's appendix states which, with
        their number.
    ps_model
        Propensity model of the doubly robust (and weighting) headline: ``"pooled"`` (default;
        one logit per district of evaluated against never-partnered desa on baseline
        covariates, shared by every cohort and year, because cohorts of a few desa cannot fit
        one each) or ``"cell"`` (one per cohort and year, as R ``did``; those cells fall back to
        outcome regression).
    inference, draws, seed, boot_weights
        ``"bootstrap"``: clustered multiplier bootstrap (staggered DiD) and wild cluster
        bootstrap (TWFE, regression adjustment); ``"analytic"``: clustered SEs with t(G-1).
    twfe_vcov
        TWFE standard errors: ``"cluster"`` (kecamatan), ``"HC1"`` or ``"iid"``.
    trim, caliper_sd
        Propensity-score trimming bound and matching caliper (cross-section).
    baseline_outcome
        Condition the staggered estimator also on the outcome's level in the first year
        (default; the unconditional estimate beside the headline uses no covariates at all).
    min_treated
        Fewest partnered desa for any estimate.
    min_evaluated
        Fewest evaluated partnered desa for a "strong" grade.
    min_subgroup_desa, min_subgroup_clusters
        A subgroup is estimated only with at least this many partnered desa and kecamatan.
    min_can_move_up
        ``naik_status`` is estimated only with at least this many evaluated partnered desa
        that can still move up (not Mandiri in their first year). The minimums and their
        reasons are declared in :mod:`analysis.methods.results`.
    multitest
        Adjustment across outcomes and across subgroups: ``"fdr_bh"``, ``"holm"``,
        ``"bonferroni"`` (statsmodels ``multipletests``).
    few_desa_placebos
        Placebo assignments drawn for the few-desa comparison used when the headline has
        fewer than ``min_treated`` partnered desa (:func:`estimate_few_desa`; every
        assignment when there are at most 2000); 0 switches that comparison off.
    few_desa_loo
        Also refit the few-desa comparison without each donor of positive weight
        (leave-one-out; one refit per donor, off by default for speed).
    few_desa_subgroups
        Give subgroups of 1 to 4 evaluated desa the few-desa comparison
        (:func:`estimate_heterogeneity`) instead of "not estimated: too few partnered desa".
        Off by default for its cost: about 1-3 s per such subgroup (a synthetic DiD fit and
        its placebos; Kutai Kartanegara's 6 take 10.8 s instead of 0.36 s), and the example's
        East Kalimantan has 41 of them in 7 districts.
    """

    covariates: tuple[str, ...] | None = None
    baseline_outcome: bool = True
    est_method: EstMethod = "dr"
    control_group: ControlGroup = "nevertreated"
    late_exposed: LateExposed = "exclude"
    ps_model: PropensityModel = "pooled"
    base_period: BasePeriod = "varying"
    anticipation: int = 0
    aggregation: Aggregation = "simple"
    inference: Inference = "bootstrap"
    draws: int = DEFAULT_DRAWS
    seed: int = DEFAULT_SEED
    boot_weights: BootWeights = "mammen"
    twfe_vcov: Vcov = "cluster"
    trim: float = TRIM
    caliper_sd: float = 0.2
    min_treated: int = MIN_TREATED
    min_evaluated: int = MIN_EVALUATED
    min_subgroup_desa: int = MIN_SUBGROUP_DESA
    min_subgroup_clusters: int = MIN_SUBGROUP_CLUSTERS
    min_can_move_up: int = MIN_CAN_MOVE_UP
    multitest: MultipleTesting = "fdr_bh"
    few_desa_placebos: int = 99
    few_desa_loo: bool = False
    few_desa_subgroups: bool = False

    def __post_init__(self) -> None:
        from analysis.methods.panel import _check_options

        _check_options(self.control_group, self.est_method, self.base_period, self.anticipation)
        check_option("aggregation", self.aggregation, Aggregation)
        check_option("inference", self.inference, Inference)
        check_option("boot_weights", self.boot_weights, BootWeights)
        check_option("twfe_vcov", self.twfe_vcov, Vcov)
        check_option("multitest", self.multitest, MultipleTesting)
        check_option("late_exposed", self.late_exposed, LateExposed)
        check_option("ps_model", self.ps_model, PropensityModel)
        if isinstance(self.baseline_outcome, str):  # a runner may pass parameters as text
            from analysis.parameters import bool_from_text

            b = bool_from_text(self.baseline_outcome)
            if b is None:
                raise OptionError(
                    f"baseline_outcome={self.baseline_outcome!r} must be true or false",
                    key="option.not_bool",
                    name="baseline_outcome",
                    value=repr(self.baseline_outcome),
                )
            object.__setattr__(self, "baseline_outcome", b)
        if isinstance(self.covariates, str):  # notebook parameter: "" defaults, "none" none
            text = self.covariates.strip()
            cov = (
                None
                if text == ""
                else ()
                if text.lower() == "none"
                else tuple(c.strip() for c in text.split(",") if c.strip())
            )
            object.__setattr__(self, "covariates", cov)
        elif self.covariates is not None:
            object.__setattr__(self, "covariates", tuple(self.covariates))
        if self.draws < 99:
            raise OptionError(
                f"draws={self.draws!r} must be at least 99",
                key="option.at_least",
                name="draws",
                value=repr(self.draws),
                min=99,
            )
        if self.few_desa_placebos != 0 and self.few_desa_placebos < 19:
            raise OptionError(
                f"few_desa_placebos={self.few_desa_placebos!r} must be 0 (off) or at least 19 "
                "(a 5% test needs at least 19 placebos)",
                key="option.few_desa_placebos",
                value=repr(self.few_desa_placebos),
            )
        if not 0 <= self.trim < 0.5:
            raise OptionError(
                f"trim={self.trim!r} must be in [0, 0.5)",
                key="option.trim",
                name="trim",
                value=repr(self.trim),
            )
        if not self.caliper_sd > 0:
            raise OptionError(
                f"caliper_sd={self.caliper_sd!r} must be positive",
                key="option.positive",
                name="caliper_sd",
                value=repr(self.caliper_sd),
            )
        for k in (
            "min_treated",
            "min_evaluated",
            "min_subgroup_desa",
            "min_subgroup_clusters",
            "min_can_move_up",
        ):
            if getattr(self, k) < 1:
                raise OptionError(
                    f"{k}={getattr(self, k)!r} must be at least 1",
                    key="option.at_least",
                    name=k,
                    value=repr(getattr(self, k)),
                    min=1,
                )

    def as_dict(self) -> dict:
        """Every field by name (recorded in ``summary.json``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def cs_kwargs(self) -> dict:
        """The keyword arguments of :func:`analysis.methods.panel.callaway_santanna`."""
        return dict(
            est_method=self.est_method,
            covariates=self.covariates,
            base_period=self.base_period,
            anticipation=self.anticipation,
            aggregation=self.aggregation,
            inference=self.inference,
            draws=self.draws,
            seed=self.seed,
            boot_weights=self.boot_weights,
            min_treated=self.min_treated,
            baseline_outcome=self.baseline_outcome,
            late_exposed=self.late_exposed,
            ps_model=self.ps_model,
        )


#: The headline method: robust to staggered starts and effects that change over time.
HEADLINE_METHOD: Method = "cs_did"


@dataclass(frozen=True, kw_only=True)
class DistrictData:
    """A district's panel, ready for every step."""

    district: District
    dataset: Dataset
    panel: pd.DataFrame
    design: Design
    first_year: int
    last_year: int
    coverage: dict
    applicable: bool
    reason: str = ""
    recent: pd.DataFrame = field(default_factory=pd.DataFrame)
    spec: Specification = field(default_factory=Specification)
    #: the one count of desa and agreements (:func:`analysis.methods.describe.count_desa`)
    counts: Counts | None = None
    #: the district's registry rows, with those of the agreements files (counted once)
    registry: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: desa with outcome data first exposed after ``last_year``, handled as
    #: ``spec.late_exposed`` says (left out, or counted as never treated)
    n_late_exposed: int = 0

    @property
    def covariates_available(self) -> tuple[str, ...]:
        """The design's covariates the panel holds with at least one value (the data's offer)."""
        return tuple(
            c for c in self.design.covariates if c in self.panel and self.panel[c].notna().any()
        )

    def __repr__(self) -> str:
        return (
            f"DistrictData({self.district.code} {self.district.name}, {len(self.panel)} desa-years "
            f"{self.first_year}-{self.last_year}, applicable={self.applicable})"
        )


def prepare(
    data_dir: str | Path,
    district: str,
    outcome: str = "nilai_idm",
    last_year: int | None = None,
    spec: Specification | None = None,
    agreements: str = "",
    **options,
) -> DistrictData:
    """Load the data folder, resolve the district and build its desa-year panel.

    ``spec`` (or its fields as keyword ``options``, e.g. ``est_method="reg"``, ``draws=1999``)
    holds every analysis choice; the later steps read it from the returned object. In a batch
    run the kernel is given the district's slice of the folder (read once per run, see
    :mod:`analysis.batch.slices`) and reads that instead; the results are the same.

    Parameters
    ----------
    data_dir
        A data folder from ``ingest`` or ``example-data``.
    district
        A district code (``"64.02"``), name or short name (``"Kukar"``).
    outcome
        The headline outcome (one of :data:`analysis.design.OUTCOMES`).
    last_year
        Last outcome year used; ``None``: the last in the data.
    spec
        Every analysis choice; ``None``: :class:`Specification` built from ``options``.
    agreements
        Further registry files (comma-separated, relative to the repository), e.g. the 2025
        MoUs of ``data/real/kukar_mou_2025.csv``; their rows join the registry (an
        ``id_kerjasama`` already there is counted once), so their desa are counted as partnered
        (too recent when they count from after ``last_year``), never as comparison desa.
    **options
        Fields of :class:`Specification` (replacing those of ``spec`` when it is given).

    Returns
    -------
    DistrictData
        The panel, its design, coverage and specification; ``applicable`` is False (with a
        ``reason``) for a district without desa or without data.

    Examples
    --------
    >>> from analysis import paths
    >>> data = prepare(paths.EXAMPLE_DIR, "Kukar", est_method="reg")
    >>> data.district.code, data.first_year, data.last_year, data.spec.est_method
    ('64.02', 2018, 2024, 'reg')
    >>> prepare(paths.EXAMPLE_DIR, "64.71").reason  # Kota Balikpapan has only kelurahan
    'no_desa'
    """
    if spec is None:
        spec = Specification(**options)
    elif options:
        spec = replace(spec, **options)
    code = resolve_district(district).code
    ds = load_dataset(slice_for(data_dir, code) or Path(data_dir))
    return prepare_dataset(ds, district, outcome, last_year, spec, read_agreement_files(agreements))


def read_agreement_files(agreements: str) -> pd.DataFrame | None:
    """The rows of further registry files (comma-separated paths), or None for none.

    Parameters
    ----------
    agreements
        Paths separated by commas, a relative one taken from the working directory
        (:func:`analysis.paths.input_path`); empty for none.

    Returns
    -------
    pandas.DataFrame or None
        The checked rows of every file (:func:`analysis.inputs.registry.read_agreements`).
    """
    frames = [read_agreements(f) for f in paths.input_paths(agreements)]
    return pd.concat(frames, ignore_index=True) if frames else None


def prepare_dataset(
    ds: Dataset,
    district: str,
    outcome: str = "nilai_idm",
    last_year: int | None = None,
    spec: Specification | None = None,
    agreements: pd.DataFrame | None = None,
) -> DistrictData:
    """:func:`prepare` for tables already in memory (e.g. a simulation).

    Desa whose first agreement counts from after the last outcome year are counted as too
    recent ("belum dapat dinilai") and, by default (``spec.late_exposed="exclude"``), left out
    of the panel: a desa that has just signed is not a clean comparison desa (it was chosen on
    its situation in the years compared, and preparing the agreement may already change it), so
    no estimator uses it, with either control group. With ``"never_treated"`` they stay in the
    panel as never partnered (``g`` = 0), as R ``did`` counts them; their number is
    ``n_late_exposed`` either way.

    Parameters
    ----------
    ds
        The tables of a data folder (:func:`analysis.inputs.dataset.load_dataset`).
    district, outcome, last_year, spec
        As :func:`prepare`.
    agreements
        Rows of further registry files (:func:`read_agreement_files`), or None.

    Returns
    -------
    DistrictData
        As :func:`prepare`.

    Examples
    --------
    >>> from analysis import paths
    >>> from analysis.inputs.dataset import load_dataset
    >>> prepare_dataset(load_dataset(paths.EXAMPLE_DIR), "64.02").applicable
    True
    """
    spec = spec or Specification()
    d = resolve_district(district)
    design = Design(outcome=outcome)
    if spec.covariates is not None:
        design = replace(design, covariates=tuple(spec.covariates))
    n_frame = len(villages_of(d)) if d.has_desa else 0
    merged, _ = merged_registry(ds.partnerships, agreements)
    registry = rows_in_district(merged, d.code).reset_index(drop=True)
    panel = (
        analysis_panel(ds.welfare, ds.villages, registry, district=d.code)
        if d.has_desa
        else pd.DataFrame()
    )
    said = {"district": d, "dataset": ds, "design": design, "spec": spec, "registry": registry}
    if not d.has_desa or panel.empty:
        return DistrictData(
            **said,
            panel=panel,
            first_year=0,
            last_year=0,
            coverage={"n_desa_frame": n_frame},
            applicable=False,
            reason="no_desa" if not d.has_desa else "no_data",
        )
    first = int(panel["tahun"].min())
    last = int(panel["tahun"].max()) if last_year is None else int(last_year)
    panel = panel[panel["tahun"] <= last]
    counts = count_desa(panel, ds.partnerships, d.code, n_frame, first, last, agreements)
    compared, n_late = apply_late_exposed(panel, design, last, spec.late_exposed)
    return DistrictData(
        **said,
        panel=with_distance_covariates(compared, d, ds, design).reset_index(drop=True),
        first_year=first,
        last_year=last,
        coverage=coverage(panel, ds.partnerships, d.code, n_frame, last, counts=counts),
        applicable=True,
        reason="",
        recent=_too_recent(registry, d.code, last),
        counts=counts,
        n_late_exposed=n_late,
    )


def with_distance_covariates(
    panel: pd.DataFrame, district: District, ds: Dataset, design: Design
) -> pd.DataFrame:
    """The panel with the distance covariates the design asks for, measured from the points.

    ``dist_partner_km`` and ``dist_kecamatan_km``
    (:func:`analysis.methods.spillover.distance_covariates`) from the shipped centroids or the
    data folder's ``coordinates``; the panel as it is when neither is asked for.

    Raises
    ------
    OptionError
        One is asked for and no desa of the district has a usable point.
    """
    asked = [c for c in design.covariates if c in DISTANCE_COVARIATES]
    if not asked:
        return panel
    pts = desa_points(villages_of(district)[["kode_desa", "kode_kec"]], ds.coordinates)
    if not (pts["letak"] == "located").any():
        raise OptionError(
            f"covariates {', '.join(asked)} are distances between desa points, and no desa of "
            f"{district.name} ({district.code}) has one: bring coordinates with `python -m "
            "analysis ingest --coordinates FILE` (columns kode_desa, latitude, longitude) or "
            "leave these covariates out",
            key="option.distance_covariates",
            names=", ".join(asked),
            district=f"{district.name} ({district.code})",
        )
    extra = distance_covariates(panel, pts)
    return panel.drop(columns=asked, errors="ignore").merge(extra, on="kode_desa", how="left")


def _too_recent(partnerships: pd.DataFrame, code: str, last: int) -> pd.DataFrame:
    """The district's registry rows whose exposure year is after ``last``."""
    reg = rows_in_district(partnerships, code)
    recent = reg[(agreement_exposure(reg) > last).to_numpy()]
    return recent[
        ["kode_desa", "nama_desa", "mitra", "jenis_mitra", "tanggal_tanda_tangan"]
    ].reset_index(drop=True)


@dataclass(frozen=True, kw_only=True)
class Description:
    """What the district's data hold: partnership counts, outcome summary, status moves.

    Parameters
    ----------
    counts
        Tables of partnerships by kecamatan, partner type, sector and start year.
    outcome_summary
        Outcomes by year and group (partnered or not).
    transitions
        IDM status moves between the first and the last year.
    """

    counts: dict
    outcome_summary: pd.DataFrame
    transitions: pd.DataFrame

    def tidy(self) -> pd.DataFrame:
        """The outcome summary."""
        return self.outcome_summary

    def __repr__(self) -> str:
        return f"Description({len(self.outcome_summary)} outcome rows, {len(self.transitions)} transitions)"


def describe_district(data: DistrictData) -> Description:
    """Counts by kecamatan, partner type, sector and start year; outcome summary; status moves.

    Parameters
    ----------
    data
        From :func:`prepare`.

    Returns
    -------
    Description
        Empty tables when the district is not applicable.

    Examples
    --------
    >>> from analysis import paths
    >>> description = describe_district(prepare(paths.EXAMPLE_DIR, "Kukar"))
    >>> sorted(description.counts)
    ['jenis_mitra', 'nama_kecamatan', 'sektor', 'tahun_mulai']
    """
    if not data.applicable:
        return Description(counts={}, outcome_summary=pd.DataFrame(), transitions=pd.DataFrame())
    return Description(
        counts=partnership_counts(data.registry, data.district.code, data.dataset.villages),
        outcome_summary=outcome_summary(
            data.panel, data.design.outcome, data.first_year, data.last_year
        ),
        transitions=status_transitions(data.panel, data.first_year, data.last_year),
    )


@dataclass(frozen=True, kw_only=True)
class MainEstimate:
    """The staggered DiD (headline), its variants, and the TWFE and Sun-Abraham benchmarks.

    Parameters
    ----------
    headline
        Callaway-Sant'Anna with the specification's estimator and covariates.
    staggered
        All its aggregations and the event study (None when not estimated).
    twfe
        Two-way fixed effects, the conventional benchmark.
    sunab
        Sun and Abraham's interaction-weighted event study (:func:`_sunab_comparison`), a
        comparison that, unlike TWFE, is not biased by effects that differ across cohorts;
        None with ``variants=False``.
    not_yet_treated
        The headline with the other comparison group (named ``cs_did_<group>``).
    unconditional
        The headline without covariates.
    breakdown
        HonestDiD's relative-magnitudes breakdown value of the headline (:func:`_breakdown`).
    spillover
        The distance checks (:func:`estimate_spillover`); None with ``variants=False``.
    """

    headline: Result
    staggered: Staggered | None
    twfe: Result
    not_yet_treated: Result
    unconditional: Result | None = None
    breakdown: Breakdown | None = None
    #: why the event study has no pre-period check (``no_event_pre_period``), or None
    event_study_refusal: NotEstimable | None = None
    #: the few-desa comparison (synthetic DiD) when the headline has too few partnered desa
    #: (:func:`estimate_few_desa`), or None when the headline was estimated
    few_desa: Result | None = None
    few_detail: FewDesa | None = None
    spillover: SpilloverCheck | None = None
    sunab: Result | None = None

    @property
    def covariates_used(self) -> tuple[str, ...]:
        """The village covariates the headline adjusted for (its baseline outcome left out).

        Empty when the headline is not estimated or adjusted for none.
        """
        if not isinstance(self.headline, Estimate):
            return ()
        used = str(self.headline.facts.get("covariates", "")).split(",")
        return tuple(c for c in used if c and not c.startswith("baseline_"))

    @property
    def baseline_used(self) -> bool:
        """Whether the headline adjusted for the outcome's starting level."""
        if not isinstance(self.headline, Estimate):
            return False
        used = str(self.headline.facts.get("covariates", "")).split(",")
        return any(c.startswith("baseline_") for c in used)

    def tidy(self) -> pd.DataFrame:
        """The estimates as one table (:data:`analysis.methods.results.COLUMNS`)."""
        rows = [self.headline, self.unconditional, self.not_yet_treated, self.twfe, self.sunab]
        rows.append(self.few_desa)
        return to_frame([r for r in rows if r is not None])

    def __repr__(self) -> str:
        return f"MainEstimate(headline={self.headline!r})"

    def _repr_html_(self) -> str:
        return self.tidy().to_html(index=False, na_rep="")


def _tag(r: Result, district: str) -> Result:
    return replace(r, district=district)


def _recent_reason(r: Result, data: DistrictData) -> Result:
    """``too_recent`` when every partnered desa is too recent to evaluate; their number.

    Those desa are not in the panel (or are in it as never partnered), so the estimator alone
    cannot tell why none is evaluated, nor count them: an estimate's ``n_late_exposed`` fact is
    set to the district's (:func:`prepare_dataset`).
    """
    if isinstance(r, Estimate) and "n_late_exposed" in r.facts:
        r = replace(r, facts={**r.facts, "n_late_exposed": data.n_late_exposed})
    k = data.counts
    if (
        isinstance(r, NotEstimable)
        and r.reason == "too_few_treated"
        and r.n_treated == 0
        and k is not None
        and k.n_desa_too_recent > 0
        and k.n_desa_from_start == 0
    ):
        return replace(r, reason="too_recent")
    return r


def _control(data: DistrictData, control_group: str | None) -> str:
    cg = data.spec.control_group if control_group is None else control_group
    check_option("control_group", cg, ControlGroup)
    return cg


#: The robust set's effect for each headline aggregation: the simple aggregation is a weighted
#: average of the event-study effects, and so is the dynamic one; the group and calendar ones are
#: not, and get the simple aggregation's (the label says so).
BREAKDOWN_TARGET = {
    "simple": "simple",
    "dynamic": "dynamic",
    "group": "simple",
    "calendar": "simple",
}


def _breakdown(head: Result, agg: Staggered | None) -> Breakdown | None:
    """HonestDiD's relative-magnitudes breakdown value of the headline (Rambachan and Roth 2023).

    The largest Mbar whose robust set (conditional-least-favourable hybrid, HonestDiD's default)
    for the headline's effect still excludes zero: the average over partnered desa-years (the
    simple aggregation, :data:`BREAKDOWN_TARGET`), from the event study's levels and their
    influence-function covariance (:func:`analysis.methods.honest.event_study_breakdown`). The
    covariance is scaled by (c / z)^2, c the headline's critical value (bootstrap or t(G-1)),
    so that the breakdown value agrees with the headline's few-cluster interval at Mbar = 0.
    """
    if not isinstance(head, Estimate) or agg is None:
        return None
    target = BREAKDOWN_TARGET[str(head.facts.get("aggregation", "simple"))]
    z = 1.959963984540054
    crit = head.crit_value if np.isfinite(head.crit_value) else z
    return event_study_breakdown(agg, target, sigma_scale=max(1.0, crit / z) ** 2)


def _event_study_refusal(
    head: Result, agg: Staggered | None, data: DistrictData
) -> NotEstimable | None:
    """``no_event_pre_period`` when the event study has too few points before the start.

    Fewer than :data:`MIN_PRE_PERIODS` points leave nothing to check earlier trends against.
    """
    if agg is None or not isinstance(head, Estimate):
        return None
    es = agg.event_study
    # a point with no standard error is the base period itself (universal base): nothing to check
    pre = es[(es["e"] < 0) & np.isfinite(es["se"].astype(float))] if len(es) else es
    n_pre = len(pre)
    if n_pre >= MIN_PRE_PERIODS:
        return None
    return NotEstimable(
        outcome=head.outcome,
        method=HEADLINE_METHOD,
        estimand="event_study",
        reason="no_event_pre_period",
        detail=f"{n_pre} event-study points before the start ({data.first_year}-{data.last_year})",
        n_treated=head.n_treated,
        n_control=head.n_control,
        district=data.district.code,
    )


def estimate_main(
    data: DistrictData, control_group: str | None = None, variants: bool = True
) -> MainEstimate:
    """The headline staggered DiD with its variants and the TWFE and Sun-Abraham benchmarks.

    Callaway and Sant'Anna (2021) with ``data.spec``'s estimator and covariates (doubly robust,
    Sant'Anna and Zhao 2020, by default), the unconditional estimate beside it, the other
    comparison group as a check, two-way fixed effects as the conventional benchmark and Sun and
    Abraham's (2021) interaction-weighted event study as a further comparison
    (:func:`analysis.methods.panel.callaway_santanna`, :func:`analysis.methods.panel.twfe`,
    :func:`analysis.methods.eventstudy.sun_abraham`).

    Parameters
    ----------
    data
        From :func:`prepare`.
    control_group
        The headline's comparison group; ``None`` (default): ``data.spec.control_group``.
    variants
        False: the headline only, the others (and the spillover checks) left as None.

    Returns
    -------
    MainEstimate
        Every result tagged with the district code.

    Examples
    --------
    >>> from analysis import paths
    >>> main = estimate_main(prepare(paths.EXAMPLE_DIR, "Kukar"))
    >>> main.headline.method, main.not_yet_treated.method, main.twfe.method
    ('cs_did', 'cs_did_notyettreated', 'twfe')
    """
    y, code, spec = data.design.outcome, data.district.code, data.spec
    control_group = _control(data, control_group)
    other = "notyettreated" if control_group == "nevertreated" else "nevertreated"
    if not data.applicable:
        ne = {"outcome": y, "estimand": "ATT", "reason": data.reason, "district": code}
        return MainEstimate(
            headline=NotEstimable(**ne, method=HEADLINE_METHOD),
            staggered=None,
            twfe=NotEstimable(**ne, method="twfe"),
            sunab=NotEstimable(**ne, method="sunab"),
            not_yet_treated=NotEstimable(**ne, method=f"{HEADLINE_METHOD}_{other}"),
            unconditional=NotEstimable(**ne, method=f"{HEADLINE_METHOD}_unconditional"),
        )
    kw = spec.cs_kwargs()
    head, agg = callaway_santanna(data.panel, data.design, control_group, data.last_year, **kw)
    head = _below_minimum(data, y) or _recent_reason(head, data)
    tried = _few_desa_applies(head) and spec.few_desa_placebos > 0
    few, detail = estimate_few_desa(data) if tried else (None, None)
    main = MainEstimate(
        few_desa=_tag(few, code) if few is not None else None,
        few_detail=detail,
        headline=_tag(head, code),
        staggered=agg,
        twfe=None,
        not_yet_treated=None,
        unconditional=None,
        breakdown=_breakdown(head, agg),
        event_study_refusal=_event_study_refusal(head, agg, data),
    )
    if not variants:
        return main
    alt, _ = callaway_santanna(data.panel, data.design, other, data.last_year, **kw)
    alt = replace(_recent_reason(alt, data), method=f"{HEADLINE_METHOD}_{other}")
    unconditional = {**kw, "covariates": (), "baseline_outcome": False}
    unc, _ = callaway_santanna(
        data.panel, data.design, control_group, data.last_year, **unconditional
    )
    unc = replace(_recent_reason(unc, data), method=f"{HEADLINE_METHOD}_unconditional")
    return replace(
        main,
        twfe=_tag(_twfe_benchmark(data), code),
        sunab=_tag(_sunab_comparison(data), code),
        not_yet_treated=_tag(alt, code),
        unconditional=_tag(unc, code),
        spillover=_timed_spillover(data, control_group),
    )


def _timed_spillover(data: DistrictData, control_group: str | None) -> SpilloverCheck:
    """:func:`estimate_spillover`, its seconds recorded when a benchmark asks (issue 19's cost)."""
    with timed("spillover", data.district.code):
        return estimate_spillover(data, control_group)


#: Headline reasons for which the few-desa comparison is tried instead (issue 18): the
#: staggered estimator refuses fewer than ``spec.min_treated`` evaluated partnered desa.
FEW_DESA_REASONS = ("too_few_treated",)


def _few_desa_applies(head: Result) -> bool:
    return isinstance(head, NotEstimable) and head.reason in FEW_DESA_REASONS


def estimate_few_desa(data: DistrictData) -> tuple[Result, FewDesa | None]:
    """The few-desa comparison of the district's largest evaluated cohort.

    Synthetic difference-in-differences (Arkhangelsky et al. 2021) of the cohort with the most
    evaluated partnered desa (ties: the earliest, which has the most years after its start)
    that has at least ``FEW_MIN_PRE`` years before its start (else the largest, and the
    estimator's reason) against the district's never-partnered desa, with placebo-in-space
    inference and leave-one-out (:func:`analysis.methods.synthetic.few_desa`, seeded with ``spec.seed``).
    Used where the staggered estimator refuses too few partnered desa; graded by its own rule
    (:func:`judge_evidence`).

    Returns
    -------
    tuple
        The estimate and its detail; or a typed ``NotEstimable`` (``no_evaluated_cohort``
        when no partnered desa started within the outcome years, or the estimator's reason)
        and None.
    """
    return _few_desa_on(data, data.panel, data.design)


def _few_desa_on(
    data: DistrictData, panel: pd.DataFrame, design: Design, cache: dict | None = None
) -> tuple[Result, FewDesa | None]:
    """:func:`estimate_few_desa` on a panel of the district (the district's, or a subgroup's).

    ``cache``: placebos shared by calls with the same donors, cohort year and size.
    """
    first = panel.groupby(design.unit)["g"].first()
    evaluated = first[(first > data.first_year) & (first <= data.last_year)]
    if evaluated.empty:
        return NotEstimable(
            outcome=design.outcome,
            method="synthetic_did",
            estimand="ATT",
            reason="no_evaluated_cohort",
        ), None
    sizes = evaluated.value_counts()
    fit = sizes[sizes.index - data.first_year >= FEW_MIN_PRE]  # cohorts with a pre-period fit
    sizes = fit if len(fit) else sizes  # else the estimator states why none can be fitted
    cohort = int(min(sizes[sizes == sizes.max()].index))
    spec = data.spec
    return few_desa(
        panel,
        design,
        cohort=cohort,
        last_year=data.last_year,
        draws=spec.few_desa_placebos,
        seed=spec.seed,
        with_leave_one_out=spec.few_desa_loo,
        placebo_cache=cache,
    )


#: Reason of every distance check when no desa of the panel has a usable point.
NO_COORDINATES = "no_coordinates"


def estimate_spillover(data: DistrictData, control_group: str | None = None) -> SpilloverCheck:
    """The distance checks of the district: are neighbours of partnered desa poor comparisons.

    Three rows beside the headline (:func:`analysis.methods.spillover.check_spillover`): the
    headline re-estimated without the comparison desa within 5 and within 10 km of a partnered
    desa (``cs_did_excl5km``, ``cs_did_excl10km``), and the exposure-by-distance event study
    (``spillover_near``: never-partnered desa within 5 km of a partnered desa against those
    farther away, Butts 2021; Clarke 2017), each with the headline's estimator, options and
    comparison group (Callaway and Sant'Anna 2021). The distance of every comparison desa to
    the nearest partnered desa is great-circle between centroids (shipped, or the data folder's
    ``coordinates``); a desa without a usable point is left out of all three.

    A row is typed not estimable, with its reason, when a band is too thin: fewer than
    :data:`analysis.methods.spillover.MIN_COMPARISON` (3) comparison desa beyond the radius
    (``too_few_far_comparison``), fewer than ``MIN_NEAR`` (10) never-partnered desa within
    5 km, or in fewer than ``MIN_NEAR_CLUSTERS`` (5) kecamatan, for the test (``too_few_near``:
    thinner rings over-reject), or no desa with a point (:data:`NO_COORDINATES`).

    Parameters
    ----------
    data
        From :func:`prepare`.
    control_group
        The headline's; ``None``: ``data.spec.control_group``.

    Returns
    -------
    SpilloverCheck
        The rows (tagged with the district code), the exposure test's event study and the
        distances per desa of the panel.
    """
    cg, code = _control(data, control_group), data.district.code
    desa = pd.DataFrame(
        {"kode_desa": pd.unique(data.panel["kode_desa"]) if len(data.panel) else []}, dtype="string"
    )
    pts = desa_points(desa, data.dataset.coordinates)
    if not data.applicable or not (pts["letak"] == "located").any():
        reason = data.reason if not data.applicable else NO_COORDINATES
        ne = {"outcome": data.design.outcome, "estimand": "ATT", "reason": reason}
        methods = [*EXCLUSION_RADII_KM.values(), EXPOSURE_METHOD]
        rows = [NotEstimable(**ne, method=m, district=code) for m in methods]
        return SpilloverCheck(
            distances=pd.DataFrame(columns=["kode_desa", "g", "latitude", "longitude", "jarak_km"]),
            excluded=tuple(rows[:-1]),
            exposure=rows[-1],
            exposure_event_study=pd.DataFrame(),
        )
    check = check_spillover(
        data.panel, pts, data.design, cg, data.last_year, NEAR_KM, **data.spec.cs_kwargs()
    )
    return replace(
        check,
        excluded=tuple(_tag(r, code) for r in check.excluded),
        exposure=_tag(check.exposure, code),
    )


def spillover_summary(check: SpilloverCheck | None) -> dict | None:
    """The distance checks as ``summary.json`` records them (None when not run).

    The distances of the comparison desa to the nearest partnered desa (how many, how many with
    a point, quartiles, how many within each radius) and each row's estimate or reason.
    """
    if check is None:
        return None
    km = pd.to_numeric(check.comparison_km, errors="coerce")
    known = km.dropna()
    q = known.quantile([0.25, 0.5, 0.75]).tolist() if len(known) else [np.nan] * 3
    rows = {
        r.method: {
            k: getattr(r, k, None)
            for k in ("estimable", "estimate", "ci_low", "ci_high", "p_value", "n_control")
        }
        | {"reason": getattr(r, "reason", "")}
        for r in (*check.excluded, check.exposure)
    }
    return {
        "near_km": check.near_km,
        "radii_km": list(EXCLUSION_RADII_KM),
        "min_desa": MIN_COMPARISON,
        "min_near_desa": MIN_NEAR,
        "min_near_kecamatan": MIN_NEAR_CLUSTERS,
        "n_comparison": int(len(km)),
        "n_comparison_located": int(len(known)),
        "comparison_km_quartiles": q,
        "n_within_km": {str(r): int((known < r).sum()) for r in EXCLUSION_RADII_KM},
        "rows": rows,
    }


def _twfe_benchmark(data: DistrictData) -> Result:
    """Two-way fixed effects with the specification's covariates and standard errors.

    With one outcome year there is no panel to difference: typed ``no_pre_period`` (``twfe``
    itself refuses such a table, since pyfixest would abort the process).
    """
    spec = data.spec
    if data.panel[data.design.time].nunique() < 2:
        return NotEstimable(
            outcome=data.design.outcome, method="twfe", estimand="ATT", reason="no_pre_period"
        )
    covs = tuple(c for c in data.design.covariates if c in data.panel.columns)
    return twfe(
        data.panel,
        data.design,
        spec.min_treated,
        covs if spec.covariates is None else tuple(spec.covariates),
        spec.twfe_vcov,
        spec.inference if spec.twfe_vcov == "cluster" else "analytic",
        spec.draws,
        spec.seed,
    )


def _sunab_comparison(data: DistrictData) -> Result:
    """Sun and Abraham's interaction-weighted ATT, never-partnered desa as the control cohort.

    :func:`analysis.methods.eventstudy.sun_abraham` without covariates (village covariates do
    not change within a desa, so the desa effects absorb them) and with the specification's
    TWFE standard errors; its ``facts`` say so. With one outcome year: ``no_pre_period``.
    """
    spec = data.spec
    if data.panel[data.design.time].nunique() < 2:
        return NotEstimable(
            outcome=data.design.outcome, method="sunab", estimand="ATT", reason="no_pre_period"
        )
    r, _ = sun_abraham(
        data.panel,
        data.design,
        "nevertreated",
        data.last_year,
        vcov=spec.twfe_vcov,
        min_treated=spec.min_treated,
        late_exposed=spec.late_exposed,
    )
    return _recent_reason(r, data)


def estimate_cross_section(data: DistrictData, year: int | None = None) -> CrossSection:
    """Naive, regression, IPW, AIPW and matching comparisons in one year.

    :func:`analysis.methods.crosssection.compare_year` with ``data.spec``'s trimming, caliper,
    minimum and inference (Imbens and Rubin 2015; AIPW: Sant'Anna and Zhao 2020; matching:
    Abadie and Imbens 2006).

    Parameters
    ----------
    data
        From :func:`prepare`.
    year
        The outcome year compared; ``None``: the last year.

    Returns
    -------
    CrossSection
        Results tagged with the district code (none when the district is not applicable).

    Examples
    --------
    >>> from analysis import paths
    >>> cross = estimate_cross_section(prepare(paths.EXAMPLE_DIR, "Kukar"), 2024)
    >>> [r.method for r in cross.results]
    ['naive', 'regression', 'ipw', 'aipw', 'matching']
    """
    if not data.applicable:
        return CrossSection(results=[], balance=None, propensity=None, data=None)
    spec = data.spec
    cs = compare_year(
        data.panel,
        data.design,
        year or data.last_year,
        trim=spec.trim,
        caliper_sd=spec.caliper_sd,
        min_treated=spec.min_treated,
        inference=spec.inference,
        draws=spec.draws,
        seed=spec.seed,
    )
    return CrossSection(
        results=[_tag(r, data.district.code) for r in cs.results],
        balance=cs.balance,
        propensity=cs.propensity,
        data=cs.data,
        sensitivity=cs.sensitivity,
    )


def _adjust(t: pd.DataFrame, method: str) -> pd.DataFrame:
    """Adjusted p-values across the rows (``q_value``; ``q_value_bh`` kept for readers of it)."""
    check_option("multitest", method, MultipleTesting)
    ok = t["estimable"] & t["p_value"].notna()
    t["q_value"] = np.nan
    if ok.any():
        t.loc[ok, "q_value"] = multipletests(t.loc[ok, "p_value"], method=method)[1]
    t["q_value_bh"] = t["q_value"]
    t["multitest"] = method
    return t


def estimate_outcomes(
    data: DistrictData,
    control_group: str | None = None,
    outcomes: tuple[str, ...] = OUTCOMES,
    multitest: str | None = None,
) -> pd.DataFrame:
    """The headline estimator on every outcome, p-values adjusted across outcomes.

    Parameters
    ----------
    data
        From :func:`prepare`.
    control_group
        ``None`` (default): ``data.spec.control_group``.
    outcomes
        The outcomes estimated.
    multitest
        ``None``: ``data.spec.multitest`` (Benjamini-Hochberg by default; statsmodels
        ``multipletests``).

    Returns
    -------
    pandas.DataFrame
        One row per outcome (:data:`analysis.methods.results.COLUMNS`) with ``q_value`` and
        ``multitest``.

    Examples
    --------
    >>> from analysis import paths
    >>> table = estimate_outcomes(prepare(paths.EXAMPLE_DIR, "Kukar"))
    >>> table["outcome"].tolist(), table["multitest"].iloc[0]
    (['nilai_idm', 'iks', 'ike', 'ikl', 'naik_status'], 'fdr_bh')
    """
    control_group = _control(data, control_group)
    rows: list[Result] = []
    for o in outcomes:
        if not data.applicable:
            rows.append(
                NotEstimable(
                    outcome=o,
                    method=HEADLINE_METHOD,
                    estimand="ATT",
                    reason=data.reason,
                    district=data.district.code,
                )
            )
            continue
        r = _below_minimum(data, o)
        if r is None:
            r, _ = callaway_santanna(
                data.panel,
                data.design.with_outcome(o),
                control_group,
                data.last_year,
                **data.spec.cs_kwargs(),
            )
        rows.append(_tag(_recent_reason(r, data), data.district.code))
    return _adjust(to_frame(rows), multitest or data.spec.multitest)


def can_move_up(data: DistrictData) -> tuple[int, int]:
    """Evaluated partnered desa, and those of them that can still move up a status band.

    A desa whose first observed status is Mandiri (the top band) cannot move up, so it cannot
    count towards ``naik_status``.

    Parameters
    ----------
    data
        From :func:`prepare`.

    Returns
    -------
    tuple of int
        ``(evaluated, can_move_up)``.
    """
    p = data.panel
    units = p.sort_values("tahun").drop_duplicates("kode_desa")
    ev = units[(units["g"] > data.first_year) & (units["g"] <= data.last_year)]
    top = len(IDM_STATUSES) - 1
    return len(ev), int((ev["status_rank"] < top).sum()) if "status_rank" in ev else 0


def _below_minimum(data: DistrictData, outcome: str) -> NotEstimable | None:
    """Why ``outcome`` is not estimated here though the comparison could run (its minimum).

    ``naik_status`` needs :data:`analysis.methods.results.MIN_CAN_MOVE_UP` evaluated partnered
    desa that can still move up (``spec.min_can_move_up``).
    """
    if outcome != "naik_status" or not data.applicable:
        return None
    n, movable = can_move_up(data)
    if movable >= data.spec.min_can_move_up or n < data.spec.min_treated:
        return None  # enough desa, or too few for any estimate (the estimator's own reason)
    return NotEstimable(
        outcome=outcome,
        method=HEADLINE_METHOD,
        estimand="ATT",
        reason="too_few_can_move_up",
        detail=f"{movable} of {n} evaluated partnered desa can still move up "
        f"(minimum {data.spec.min_can_move_up})",
        n_treated=n,
        district=data.district.code,
    )


def estimate_heterogeneity(data: DistrictData, control_group: str | None = None) -> pd.DataFrame:
    """The headline estimator by partner type and by sector, adjusted across subgroups.

    A subgroup is estimated by the headline estimator with at least ``spec.min_subgroup_desa``
    evaluated partnered desa in at least ``spec.min_subgroup_clusters`` kecamatan (thresholds
    in the columns ``min_desa`` / ``min_clusters``). A subgroup of 1 to
    ``min(min_subgroup_desa - 1, FEW_SUBGROUP_MAX)`` (4) desa gets, with
    ``spec.few_desa_subgroups``, the district's few-desa comparison instead (issue 18:
    synthetic DiD of its largest cohort against the never-partnered desa, placebo-in-space
    inference, :func:`estimate_few_desa`; ``method`` ``synthetic_did``, ``few_desa`` True),
    graded by the few-desa rule (``few_grade``, ``few_reasons``: :func:`few_desa_reasons`), with
    ``n_pre_points`` 0 and ``pretrend_p`` NaN: it has no pre-period *test*, so it never enters
    a "pre-checked" subgroup difference (:func:`analysis.methods.subgroups.compare_subgroups`
    leaves it out of the pairs). Its pre-period fit is ``pre_max_abs`` (pre-period RMSPE) and
    ``pre_message`` names the catalog sentence for it. Others are listed with ``reason``
    ``"too_few_treated"`` (too few desa and more than ``FEW_SUBGROUP_MAX``, none, or the
    few-desa comparison not asked: ``spec.few_desa_subgroups`` False, the default, or
    ``few_desa_placebos=0``) or ``"too_few_clusters"`` (enough desa in too few kecamatan), with
    the counts ``n_desa_subgroup`` / ``n_kecamatan_subgroup``; their ``n_control`` is not
    counted (0).

    Parameters
    ----------
    data
        From :func:`prepare`.
    control_group
        ``None`` (default): ``data.spec.control_group``.

    Returns
    -------
    pandas.DataFrame
        One row per subgroup present: ``dimension`` (``jenis_mitra``, ``sektor``), ``group``,
        the result columns, the counts and thresholds, ``q_value``.

    Examples
    --------
    >>> from analysis import paths
    >>> het = estimate_heterogeneity(prepare(paths.EXAMPLE_DIR, "Kukar"))
    >>> het.loc[0, ["dimension", "group", "method"]].tolist()
    ['jenis_mitra', 'perusahaan', 'cs_did']
    """
    control_group = _control(data, control_group)
    spec = data.spec
    if not data.applicable:
        return pd.DataFrame(columns=["dimension", "group", *to_frame([]).columns])
    evaluated = data.panel[
        (data.panel["g"] > data.first_year) & (data.panel["g"] <= data.last_year)
    ]
    evaluated = evaluated.drop_duplicates("kode_desa")
    tables: dict = {}  # the desa-years and registry rows shared by every subgroup, built once
    rows = []
    for dim, values in (("jenis_mitra", PARTNER_TYPES), ("sektor", SECTORS)):
        present = set(data.panel.loc[data.panel["g"] > 0, dim].dropna())
        for v in (v for v in values if v in present):
            sub = evaluated[evaluated[dim] == v]
            n_desa = len(sub)
            n_kec = int(sub[data.design.cluster].nunique()) if data.design.cluster in sub else 0
            r, agg = _subgroup(data, dim, v, n_desa, n_kec, control_group, tables)
            row = to_frame([_tag(r, data.district.code)]).iloc[0].to_dict()
            rows.append(
                {
                    "dimension": dim,
                    "group": v,
                    **row,
                    "n_desa_subgroup": n_desa,
                    "n_kecamatan_subgroup": n_kec,
                    "min_desa": spec.min_subgroup_desa,
                    "min_clusters": spec.min_subgroup_clusters,
                    **_subgroup_pre_period(r, agg),
                }
            )
    t = pd.DataFrame(rows)
    if len(t):
        t = _adjust(t, spec.multitest)
    return t


def _subgroup(
    data: DistrictData,
    dim: str,
    value: str,
    n_desa: int,
    n_kec: int,
    control_group: str,
    tables: dict,
) -> tuple[Result, Staggered | None]:
    """The headline estimator for one subgroup, with its aggregation (None when not estimated).

    The headline estimator for the desa partnered with one partner type or sector, the
    few-desa comparison for 1 to ``FEW_SUBGROUP_MAX`` desa (or why not: too few desa or
    kecamatan); ``tables`` keeps the shared desa-years once built.
    """
    spec = data.spec
    few_max = min(spec.min_subgroup_desa - 1, FEW_SUBGROUP_MAX)
    few = 0 < n_desa <= few_max and spec.few_desa_subgroups and spec.few_desa_placebos > 0
    if not few and (n_desa < spec.min_subgroup_desa or n_kec < spec.min_subgroup_clusters):
        return NotEstimable(
            outcome=data.design.outcome,
            method=HEADLINE_METHOD,
            estimand="ATT",
            reason="too_few_treated" if n_desa < spec.min_subgroup_desa else "too_few_clusters",
            detail=f"{n_desa} partnered desa in {n_kec} kecamatan",
            n_treated=n_desa,
            district=data.district.code,
        ), None
    if "base" not in tables:
        ds, code = data.dataset, data.district.code
        tables["base"] = desa_years(ds.welfare, ds.villages, code)
        tables["registry"] = data.registry
    treat = f"{'type' if dim == 'jenis_mitra' else 'sector'}:{value}"
    panel = with_exposure(tables["base"], tables["registry"], treat)
    # too recent: as in prepare_dataset (left out, or never partnered)
    panel = panel[panel["tahun"] <= data.last_year]
    panel, _ = apply_late_exposed(panel, data.design, data.last_year, spec.late_exposed)
    design = data.design.with_treatment(treat)
    if few:  # as the district's fallback: synthetic DiD of the subgroup's largest cohort
        return _few_desa_on(data, panel, design, tables.setdefault("placebos", {}))[0], None
    return callaway_santanna(panel, design, control_group, data.last_year, **spec.cs_kwargs())


#: Most evaluated desa of a subgroup given the few-desa comparison (below ``min_subgroup_desa``):
#: the few-desa calibration (``scripts/study_few_desa.py``) covers cohorts of 1 to 5 desa.
FEW_SUBGROUP_MAX = 4

#: Subgroup columns of :func:`estimate_heterogeneity` beyond the result columns.
SUBGROUP_COLUMNS = (
    "n_desa_subgroup",
    "n_kecamatan_subgroup",
    "min_desa",
    "min_clusters",
    "pretrend_p",
    "pre_max_abs",
    "pre_detectable",
    "n_pre_points",
    "pretrend_rejects",
    "few_desa",
    "few_grade",
    "few_reasons",
    "pre_message",
)

#: Catalog sentences for a few-desa subgroup's pre-period fit (column ``pre_message``): the
#: fit's RMSPE ``{rmspe}`` is at most the estimate, or larger than it.
FEW_PRE_MESSAGES = {True: "subgroup.pre_few_fits", False: "subgroup.pre_few_misses"}


def _subgroup_pre_period(r: Result, agg: Staggered | None) -> dict:
    """The subgroup's own pre-period check: the headline's test on the subgroup's cohorts.

    ``pretrend_rejects`` uses the headline's threshold (p < 0.10, :func:`judge_evidence`);
    ``n_pre_points`` 0 means there was nothing to check (reason ``no_event_pre_period``).
    """
    none = {"few_desa": False, "few_grade": "", "few_reasons": "", "pre_message": ""}
    if isinstance(r, Estimate) and r.method in FEW_METHODS:
        reasons = few_desa_reasons(r)
        rmspe = float(r.facts.get("pre_rmspe", np.nan))
        out = {"pretrend_p": np.nan, "pre_max_abs": rmspe, "pre_detectable": np.nan}
        return {
            **out,
            "n_pre_points": 0,
            "pretrend_rejects": False,
            "few_desa": True,
            "few_grade": "suggestive" if reasons == ["few_desa"] else "insufficient",
            "few_reasons": ",".join(reasons),
            "pre_message": FEW_PRE_MESSAGES["pre_fit_exceeds_estimate" not in reasons],
        }
    if agg is None or not isinstance(r, Estimate):
        out = {"pretrend_p": np.nan, "pre_max_abs": np.nan, "pre_detectable": np.nan}
        return {**out, "n_pre_points": 0, "pretrend_rejects": False, **none}
    es = agg.event_study
    n_pre = int(((es["e"] < 0) & np.isfinite(es["se"].astype(float))).sum()) if len(es) else 0
    return {
        "pretrend_p": float(agg.pretrend_p),
        "pre_max_abs": float(agg.pre_max_abs),
        "pre_detectable": float(agg.pre_detectable),
        "n_pre_points": n_pre,
        "pretrend_rejects": bool(agg.pretrend_p < PRETREND_ALPHA),
        **none,
    }


#: Grade codes, strongest first.
GRADES = allowed(Grade)
#: The reason codes that keep a grade below "strong" (:func:`judge_evidence`), each worded
#: in the catalogs as ``why.<code>``.
GRADE_REASONS = (
    "ci_includes_zero",
    "not_significant_after_adjustment",
    "pretrend",
    "few_treated",
    "pre_period_underpowered",
    "no_pre_period_test",
    "pre_gap_exceeds_estimate",
    "few_desa",
    "placebo_not_rejected",
    "pre_fit_exceeds_estimate",
)


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """The grade of the headline (a code) and the numbers behind it; never prose.

    Reason codes (each keeps the grade below "strong"): ``ci_includes_zero``,
    ``not_significant_after_adjustment`` (the interval excludes zero but the adjusted q does
    not pass; not listed beside ``ci_includes_zero``), ``pretrend`` (the pre-period test rejects),
    ``pre_period_underpowered`` (the pre-period could not have detected a gap as large as the
    effect), ``no_pre_period_test``, ``few_treated`` (fewer evaluated desa than
    ``min_evaluated``). Caveat codes (reported with any grade): ``fragile_to_trend_violation``
    (relative-magnitudes breakdown Mbar < 1: post-period trend departures as large as the largest
    pre-period one could explain the effect).
    """

    grade: str
    reasons: tuple[str, ...]
    mde: float
    e_value: EValue
    pretrend_p: float
    n_treated: int
    headline: Result
    q_value: float = np.nan
    pre_max_abs: float = np.nan  # largest |pre-period coefficient|
    pre_detectable: float = np.nan  # pre-period gap detectable with 80% power
    breakdown_mbar: float = np.nan  # Rambachan-Roth relative-magnitudes breakdown value
    n_evaluated: int = 0
    n_too_recent: int = 0
    min_evaluated: int = 10
    n_clusters: int = 0
    ci_method: str = ""
    caveats: tuple[str, ...] = ()  # qualify any grade, do not lower it
    #: the method of the graded result: the staggered headline, or ``synthetic_did`` when
    #: the district has too few partnered desa for it (:func:`estimate_few_desa`)
    method: str = HEADLINE_METHOD
    #: why the few-desa comparison, tried for a headline with too few desa, was not made
    few_reason: str = ""
    #: the distance checks (robustness rows, never the grade): ``MainEstimate.spillover``
    spillover: SpilloverCheck | None = None

    def tidy(self) -> pd.DataFrame:
        """The grade and its numbers as a one-row table."""
        skip = ("headline", "e_value", "reasons", "caveats")
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        d["reasons"] = ",".join(self.reasons)
        d["caveats"] = ",".join(self.caveats)
        d["e_value"], d["e_value_ci"] = self.e_value.point, self.e_value.ci_bound
        return pd.DataFrame([d])

    def __repr__(self) -> str:
        return f"Evidence({self.grade}, reasons={self.reasons})"

    def _repr_html_(self) -> str:
        return self.tidy().to_html(index=False, na_rep="")


def judge_evidence(main: MainEstimate, outcomes: pd.DataFrame, data: DistrictData) -> Evidence:
    """Grade the headline; calibrated on placebo simulations (README, "Evidence grade").

    strong: the interval (few-cluster inference) excludes zero; the p-value adjusted across
    outcomes is below 0.05; at least ``spec.min_evaluated`` evaluated partnered desa; the
    pre-period test does not reject (p >= 0.10) *and* could have detected a pre-period gap as
    large as the estimate (80% power); no pre-period gap is larger than the estimate.
    suggestive: p < 0.05 but a condition fails. insufficient: otherwise, and always when the
    pre-period test rejects or a pre-period gap exceeds the estimate (reason
    ``pre_gap_exceeds_estimate``): the gap after the start may then continue the gap before it.
    Caveats: ``fragile_to_trend_violation`` (breakdown value computed and below 1; none when
    unknown, e.g. without a pre-period) and ``below_mde`` (the estimate is smaller than the
    minimum detectable effect, so an interval that excludes zero is likely to exaggerate it:
    Gelman and Carlin 2014, type M error). The relative-magnitudes breakdown value (Rambachan & Roth 2023)
    is carried as a fact and as a caveat when below 1; requiring Mbar >= 1 would make "strong"
    unreachable at district scale (0 of 235 simulated briefs with real effects, README). The
    grade never asserts parallel trends: it carries what the pre-period shows and the gap it
    could have detected. E-value: VanderWeele and Ding (2017); MDE: Bloom (1995).

    Parameters
    ----------
    main, outcomes, data
        From :func:`estimate_main`, :func:`estimate_outcomes` and :func:`prepare`.

    Returns
    -------
    Evidence
        The grade (one of :data:`GRADES`), its reason and caveat codes and the numbers.

    Examples
    --------
    >>> from analysis import paths
    >>> data = prepare(paths.EXAMPLE_DIR, "Kukar")
    >>> evidence = judge_evidence(estimate_main(data), estimate_outcomes(data), data)
    >>> evidence.grade in GRADES
    True
    """
    h = main.headline
    cov = data.coverage if data.applicable else {}
    counts = {
        "n_evaluated": int(cov.get("n_desa_evaluated", cov.get("n_desa_evaluable", 0))),
        "n_too_recent": int(cov.get("n_desa_too_recent", 0)),
        "min_evaluated": data.spec.min_evaluated,
    }
    if not isinstance(h, Estimate) and _bounded(main.few_desa):
        return replace(_judge_few(main.few_desa, data, counts), spillover=main.spillover)
    if not isinstance(h, Estimate):
        return _not_estimable_evidence(h, main, counts)
    agg = main.staggered
    pre = {
        "pretrend_p": agg.pretrend_p if agg is not None else np.nan,
        "pre_detectable": agg.pre_detectable if agg is not None else np.nan,
        "pre_max_abs": agg.pre_max_abs if agg is not None else np.nan,
    }
    row = outcomes[outcomes["outcome"] == h.outcome]
    qcol = "q_value" if "q_value" in outcomes else "q_value_bh"
    q = float(row[qcol].iloc[0]) if len(row) else h.p_value
    sd = float(data.panel.loc[data.panel["tahun"] == data.last_year, h.outcome].std())
    mbar = main.breakdown.mbar if main.breakdown is not None else np.nan
    grade, reasons = _grade(h, q, pre, counts)
    mde = mde_from_se(h.se, df=h.n_clusters - 1 if h.n_clusters > 1 else None)
    caveats = ("fragile_to_trend_violation",) if np.isfinite(mbar) and mbar < 1 else ()
    if np.isfinite(mde) and abs(h.estimate) < mde:
        caveats += ("below_mde",)
    return Evidence(
        grade=grade,
        reasons=reasons,
        mde=mde,
        e_value=e_value(h.estimate, h.ci_low, h.ci_high, sd),
        n_treated=h.n_treated,
        headline=h,
        q_value=q,
        breakdown_mbar=mbar,
        n_clusters=h.n_clusters,
        ci_method=h.ci_method,
        caveats=caveats,
        spillover=main.spillover,
        **pre,
        **counts,
    )


def _not_estimable_evidence(h: Result, main: MainEstimate, counts: dict) -> Evidence:
    """The evidence of a headline that was not estimated: its reason, and the few-desa one."""
    few = main.few_desa
    few_reason = few.reason if isinstance(few, NotEstimable) else ""
    return Evidence(
        grade="not_estimable",
        reasons=(h.reason,),
        few_reason="ci_unbounded" if isinstance(few, Estimate) else few_reason,
        mde=np.nan,
        e_value=EValue(point=np.nan, ci_bound=np.nan),
        pretrend_p=np.nan,
        n_treated=h.n_treated,
        headline=h,
        spillover=main.spillover,
        **counts,
    )


def _bounded(r: Result | None) -> bool:
    """An estimate whose interval has two finite ends (a placebo inversion may have none)."""
    return isinstance(r, Estimate) and bool(np.isfinite(r.ci_low) and np.isfinite(r.ci_high))


#: The few-desa estimators (``Estimate.method``) graded by :func:`few_desa_reasons`.
FEW_METHODS = ("synthetic_did", "synthetic_control", "did")


def few_desa_reasons(h: Estimate) -> list[str]:
    """The reason codes of a few-desa comparison's grade (district fallback and subgroups).

    Always ``few_desa`` (never "strong"); ``placebo_not_rejected`` unless the placebo test
    rejects at 5% and can (its smallest attainable p-value is below 0.05);
    ``pre_fit_exceeds_estimate`` when the pre-period RMSPE is larger than the estimate. Only
    ``["few_desa"]`` is "suggestive".
    """
    f = h.facts or {}
    pre_rmspe = float(f.get("pre_rmspe", np.nan))
    p = float(f.get("placebo_p_value", h.p_value))
    reasons = ["few_desa"]
    if not (p < 0.05 and float(f.get("min_p_value", 1.0)) < 0.05):
        reasons.append("placebo_not_rejected")
    if not (pre_rmspe <= abs(h.estimate)):
        reasons.append("pre_fit_exceeds_estimate")
    return reasons


def _judge_few(h: Estimate, data: DistrictData, counts: dict) -> Evidence:
    """The few-desa comparison's grade: never "strong" with so few desa.

    suggestive: the placebo-in-space test rejects at 5% (it can: its smallest attainable
    p-value is below 0.05) and the pre-period fit's RMSPE is not larger than the estimate;
    insufficient otherwise. Used only when its interval is bounded (else the district is not
    estimable, ``few_reason`` ``ci_unbounded``). Calibrated by
    ``scripts/study_few_desa.py`` (README): with zero effect the 5% test rejects in 4.0% and
    3.5% of 200 draws for 1 and 3 partnered desa (5 desa: 8.0% and, on fresh draws, 3.5%; the
    test's exact form rejects 7.5% on the first 200, so that excess is the draws'), so a false
    "suggestive" is about that rare where this path is used (fewer than ``min_treated`` = 3).
    The rule is :func:`few_desa_reasons`, shared with the subgroups of 1-4 desa.
    """
    pre_rmspe = float((h.facts or {}).get("pre_rmspe", np.nan))
    reasons = few_desa_reasons(h)
    sd = float(data.panel.loc[data.panel["tahun"] == data.last_year, h.outcome].std())
    return Evidence(
        grade="suggestive" if reasons == ["few_desa"] else "insufficient",
        reasons=tuple(reasons),
        mde=np.nan,
        e_value=e_value(h.estimate, h.ci_low, h.ci_high, sd),
        pretrend_p=np.nan,
        pre_max_abs=pre_rmspe,
        n_treated=h.n_treated,
        headline=h,
        ci_method=h.ci_method,
        method=h.method,
        **counts,
    )


#: The pre-period test "rejects" below this p-value (grade and subgroups alike).
PRETREND_ALPHA = 0.10


def _grade(h: Estimate, q: float, pre: dict, counts: dict) -> tuple[str, tuple[str, ...]]:
    """The grade and the reason codes that keep it below "strong" (see :func:`judge_evidence`)."""
    pre_p, pre_det = pre["pretrend_p"], pre["pre_detectable"]
    reasons = []
    if not (h.ci_low > 0 or h.ci_high < 0):
        reasons.append("ci_includes_zero")
    elif not (q < 0.05):  # said only of a result the correction removed (the grade is the same)
        reasons.append("not_significant_after_adjustment")
    if not np.isfinite(pre_p):
        reasons.append("no_pre_period_test")
    elif pre_p < PRETREND_ALPHA:
        reasons.append("pretrend")
    elif not (pre_det <= abs(h.estimate)):
        reasons.append("pre_period_underpowered")
    if np.isfinite(pre["pre_max_abs"]) and pre["pre_max_abs"] > abs(h.estimate):
        reasons.append("pre_gap_exceeds_estimate")
    if counts["n_evaluated"] < counts["min_evaluated"]:
        reasons.append("few_treated")
    if not reasons:
        grade = "strong"
    elif {"pretrend", "pre_gap_exceeds_estimate"} & set(reasons):
        # the gap after may continue a gap before: never read as a benefit, however small p is
        grade = "insufficient"
    elif h.p_value < 0.05:
        grade = "suggestive"
    else:
        grade = "insufficient"
    return grade, tuple(reasons)


def results_table(
    main: MainEstimate, cross: CrossSection, outcomes: pd.DataFrame, het: pd.DataFrame
) -> pd.DataFrame:
    """Every estimate of the district in the tidy shape the synthesis reads.

    Parameters
    ----------
    main, cross, outcomes, het
        From :func:`estimate_main`, :func:`estimate_cross_section`, :func:`estimate_outcomes`
        and :func:`estimate_heterogeneity`.

    Returns
    -------
    pandas.DataFrame
        One row per estimate (:data:`analysis.methods.results.COLUMNS`); ``method`` is a code
        (:data:`analysis.methods.options.Method`), subgroup rows ``"cs_did [<dimension>=<group>]"``;
        the distance checks' rows (``cs_did_excl5km``, ``cs_did_excl10km``, ``spillover_near``,
        :func:`estimate_spillover`) follow the cross-section when ``main`` has them.

    Examples
    --------
    >>> from analysis import paths
    >>> data = prepare(paths.EXAMPLE_DIR, "Kukar")
    >>> main, cross = estimate_main(data), estimate_cross_section(data)
    >>> table = results_table(main, cross, estimate_outcomes(data), estimate_heterogeneity(data))
    >>> table["method"].iloc[0], table["district"].iloc[0]
    ('cs_did', '64.02')
    """
    rows = [main.headline, main.unconditional, main.not_yet_treated, main.twfe, main.sunab]
    rows.append(main.few_desa)
    parts = [
        to_frame([r for r in rows if r is not None]),
        to_frame(cross.results),
        main.spillover.tidy() if main.spillover is not None else pd.DataFrame(),
        outcomes[outcomes["outcome"] != main.headline.outcome].drop(
            columns=["q_value_bh", "q_value", "multitest"], errors="ignore"
        ),
    ]
    if len(het):
        h = het.copy()
        h["method"] = h["method"] + " [" + h["dimension"] + "=" + h["group"] + "]"
        parts.append(
            h.drop(
                columns=["dimension", "group", "q_value_bh", "q_value", "multitest"]
                + list(SUBGROUP_COLUMNS),
                errors="ignore",
            )
        )
    t = pd.concat([p for p in parts if len(p)], ignore_index=True)
    t["district"] = main.headline.district
    return t


#: The fields of :class:`Evidence` that ``summary.json`` records, in order.
EVIDENCE_RECORD = (
    "grade", "reasons", "mde", "pretrend_p", "pre_max_abs", "pre_detectable", "breakdown_mbar",
    "q_value", "n_evaluated", "n_too_recent", "ci_method", "n_clusters", "caveats", "method",
    "few_reason",
)  # fmt: skip


def _evidence_record(evidence: Evidence | None) -> dict | None:
    """The grade and its numbers as ``summary.json`` holds them (tuples as lists)."""
    if evidence is None:
        return None
    get = lambda k: getattr(evidence, k)  # noqa: E731
    return {k: list(get(k)) if isinstance(get(k), tuple) else get(k) for k in EVIDENCE_RECORD}


def save_results(
    out_dir: str | Path,
    data: DistrictData,
    table: pd.DataFrame,
    evidence: Evidence | None,
    parameters: dict,
) -> Path:
    """Write ``results.csv`` and ``summary.json`` for the synthesis (each file whole or not at all).

    Parameters
    ----------
    out_dir
        The district's folder (created if missing).
    data
        From :func:`prepare`.
    table
        From :func:`results_table`.
    evidence
        From :func:`judge_evidence`, or None.
    parameters
        The notebook's parameters, recorded in ``summary.json``.

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Examples
    --------
    >>> import tempfile
    >>> from analysis import paths
    >>> data = prepare(paths.EXAMPLE_DIR, "Kukar")
    >>> main, cross, outcomes = estimate_main(data), estimate_cross_section(data), estimate_outcomes(data)
    >>> table = results_table(main, cross, outcomes, estimate_heterogeneity(data))
    >>> evidence = judge_evidence(main, outcomes, data)
    >>> out = save_results(tempfile.mkdtemp(), data, table, evidence, {"district": "64.02"})
    >>> sorted(f.name for f in out.iterdir())
    ['results.csv', 'summary.json']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # text that a spreadsheet would run as a formula is made inert (tables.neutralise_frame)
    write_file_atomically(out / "results.csv", neutralise_frame(table).to_csv(index=False))
    summary = {
        "district": data.district.code,
        "name": data.district.name,
        "applicable": data.applicable,
        "reason": data.reason,
        "synthetic": data.dataset.synthetic,
        "coverage": data.coverage,
        "last_year": data.last_year,
        "evidence": _evidence_record(evidence),
        "spillover": spillover_summary(evidence.spillover if evidence is not None else None),
        "specification": data.spec.as_dict(),
        "parameters": parameters,
        "data_hashes": data.dataset.hashes,
        "package_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    write_file_atomically(
        out / "summary.json", json.dumps(summary, indent=2, default=str, ensure_ascii=False)
    )
    return out


__all__ = [
    "prepare",
    "describe_district",
    "estimate_main",
    "estimate_cross_section",
    "estimate_outcomes",
    "estimate_heterogeneity",
    "compare_subgroups",
    "SubgroupComparison",
    "can_move_up",
    "read_agreement_files",
    "Counts",
    "judge_evidence",
    "estimate_spillover",
    "spillover_summary",
    "results_table",
    "save_results",
    "MIN_TREATED",
    "Specification",
    "GRADES",
]
