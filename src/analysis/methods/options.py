"""Every option of the engine, declared once.

Every option of the engine, declared once as a ``typing.Literal`` (in the style of pyfixest's
``literals.py``).

The estimators (:mod:`~analysis.methods.panel`, :mod:`~analysis.methods.inference`,
:mod:`~analysis.methods.crosssection`, :mod:`~analysis.methods.pooling`), the notebook's
:class:`analysis.district.Specification` and :mod:`analysis.parameters` import these types from
here, and :func:`allowed` gives the values of one. This module imports only :mod:`typing`, so
that checking a parameter (``python -m analysis run --param est_method=drr``) does not wait for
statsmodels and pyfixest to load.

Examples
--------
>>> from analysis.methods.options import ControlGroup, allowed
>>> allowed(ControlGroup)
('nevertreated', 'notyettreated')
>>> method_code("Callaway-Sant'Anna DiD")
'cs_did'
"""

from __future__ import annotations

from typing import Literal, get_args

# -- choices of the staggered difference-in-differences (R ``did``'s names) --------------------
#: Comparison desa of the staggered estimator (``att_gt(control_group=)``).
ControlGroup = Literal["nevertreated", "notyettreated"]
#: Comparison cohort of Sun and Abraham's interaction-weighted event study: the never-treated desa,
#: or the last-treated cohort (with the never-treated) over the years before it starts.
SunAbrahamControl = Literal["nevertreated", "lasttreated"]
#: Two-period estimator of each ATT(g, t): doubly robust, outcome regression or IPW.
EstMethod = Literal["dr", "reg", "ipw"]
#: Base period of the pre-period comparisons.
BasePeriod = Literal["varying", "universal"]
#: Propensity model of the weighting and doubly robust cells: one logit per ATT(g, t) cell (R
#: ``did``, DRDID) or one per call, evaluated cohorts against never-partnered desa on baseline
#: covariates, shared by every cell (for districts whose cohorts hold a few desa each).
PropensityModel = Literal["cell", "pooled"]
#: Aggregation of the ATT(g, t) (``aggte(type=)``).
Aggregation = Literal["simple", "dynamic", "group", "calendar"]
#: Desa first exposed after the last outcome year: left out of every comparison (``"exclude"``,
#: the default: a desa that has just signed was chosen on its situation in the years compared,
#: and preparing the agreement may already change it) or counted as never treated, as R
#: ``did``, csdid and moderndid do (``"never_treated"``).
LateExposed = Literal["exclude", "never_treated"]

# -- standard errors and inference ------------------------------------------------------------
#: Standard errors of two-way fixed effects (pyfixest ``vcov``).
Vcov = Literal["cluster", "HC1", "iid"]
#: Standard error of the naive difference in means.
NaiveSE = Literal["classical", "HC1"]
#: Headline inference: bootstrap, or analytic with t(G-1) critical values.
Inference = Literal["bootstrap", "analytic"]
#: Multiplier distributions of the bootstrap.
BootWeights = Literal["mammen", "rademacher", "webb"]
#: Standard error types an estimate reports (``Estimate.se_type``).
SEType = Literal[
    "influence_function",
    "CRV1",
    "HC1",
    "iid",
    "abadie_imbens",
    "hksj",
    "inverse_variance",
    "placebo",
]
#: How an estimate's interval was made (``Estimate.ci_method``).
CIMethod = Literal[
    "normal",
    "t",
    "multiplier_bootstrap",
    "multiplier_bootstrap_t_floor",
    "wild_cluster_bootstrap",
    "placebo_test_inversion",
    "placebo_variance",
    "t_exposed_clusters",
]
#: Event-study intervals: pointwise, or the uniform (sup-t) band of the bootstrap.
Band = Literal["pointwise", "uniform"]
#: Adjustment of p-values across outcomes and subgroups (statsmodels ``multipletests``).
MultipleTesting = Literal["fdr_bh", "holm", "bonferroni"]

#: Pre-period test of the staggered estimator: Bonferroni over the event-study coefficients
#: before the start, or R ``did``'s Wald test on the pre-period ATT(g, t).
PreTest = Literal["bonferroni", "wald"]

# -- sensitivity to departures from parallel trends (HonestDiD's names) ------------------------
#: Robust sets under relative magnitudes (Delta^RM): conditional-least-favourable hybrid or the
#: conditional test (``createSensitivityResults_relativeMagnitudes(method=)``).
RMMethod = Literal["C-LF", "Conditional"]
#: Robust sets under smoothness (Delta^SD): fixed-length interval, or the conditional tests
#: (``createSensitivityResults(method=)``).
SDMethod = Literal["FLCI", "C-LF", "Conditional"]
#: Which post-period effect of an event study a robust set is for: the average weighted as the
#: simple aggregation (desa-years), the plain average over years since the start (dynamic
#: aggregation), or the first year.
SensitivityTarget = Literal["simple", "dynamic", "first"]

# -- cross-section, pooling, treatment ---------------------------------------------------------
#: The estimators of the one-year comparison (``compare_year(estimators=)``); the propensity
#: score is fitted only for "ipw", "aipw" and "matching".
CrossSectionEstimator = Literal["naive", "regression", "ipw", "aipw", "matching"]
#: Estimand of the propensity-score weights.
PropensityEstimand = Literal["ATT", "ATE"]
#: Between-district variance of the random-effects pooling: DerSimonian-Laird, Paule-Mandel or
#: restricted maximum likelihood (metafor ``rma(method=)``: "DL", "PM", "REML").
MethodRE = Literal["dl", "pm", "reml"]
#: Interval of the pooled effect: HKSJ, normal, or HKSJ with few districts.
PoolInterval = Literal["auto", "hksj", "normal"]
#: Kinds of treatment definition (``Design.treatment``: ``"any"``, ``"type:<jenis_mitra>"``,
#: ``"sector:<sektor>"``, ``"by:<year>"``).
TreatmentKind = Literal["any", "type", "sector", "by"]

# -- few partnered desa: synthetic control and synthetic DiD (methods/synthetic.py) -----------
#: Estimator of one cohort of a few partnered desa against donor desa: synthetic
#: difference-in-differences (Arkhangelsky et al. 2021), synthetic control (Abadie, Diamond and
#: Hainmueller 2010) or difference-in-differences with equal weights, on the same balanced panel.
SyntheticMethod = Literal["synthetic_did", "synthetic_control", "did"]
#: How synthetic-control weights are fitted: on every pre-period outcome (R synthdid's
#: ``sc_estimate``) or on predictors weighted by a V matrix chosen to fit the pre-period outcomes
#: (R Synth).
SCFit = Literal["outcomes", "predictors"]
#: What a donor desa must share with a partnered desa of the cohort to be in the donor pool:
#: the district (kabupaten), the kecamatan, the mining or the plantation status.
DonorRestriction = Literal["district", "kecamatan", "mining", "plantation"]
#: The statistic of the placebo-in-space test: the post/pre RMSPE ratio (Abadie, Diamond and
#: Hainmueller 2010) or the absolute effect.
PlaceboStatistic = Literal["rmspe_ratio", "effect"]
#: The few-desa interval and p-value: the inverted placebo-in-space test, or the estimate +-
#: z times the placebo standard error (Arkhangelsky et al. 2021, Algorithm 4).
FewDesaInterval = Literal["placebo_test_inversion", "placebo_variance"]

# -- results -----------------------------------------------------------------------------------
#: The estimator of a result (``Estimate.method``, the ``method`` column of ``results.csv``);
#: pages word it from the catalogs (``method.<code>``).
Method = Literal[
    "cs_did",
    "cs_did_notyettreated",
    "cs_did_nevertreated",
    "cs_did_unconditional",
    "twfe",
    "sunab",
    "naive",
    "regression",
    "ipw",
    "aipw",
    "matching",
    "random_effects",
    "fixed_effect",
    "cs_did_excl5km",
    "cs_did_excl10km",
    "spillover_near",
    "synthetic_did",
    "synthetic_control",
    "did",
]
#: Grades of the evidence, strongest first.
Grade = Literal["strong", "suggestive", "insufficient", "not_estimable"]

#: The English labels that results carried as ``method`` before the codes, and their codes. Every
#: function that takes a method accepts either (:func:`method_code`), so notebooks and
#: ``results.csv`` files written before still work.
OLD_METHOD_LABELS: dict[str, Method] = {
    "Callaway-Sant'Anna DiD": "cs_did",
    "Callaway-Sant'Anna DiD (notyettreated)": "cs_did_notyettreated",
    "Callaway-Sant'Anna DiD (nevertreated)": "cs_did_nevertreated",
    "Two-way fixed effects": "twfe",
    "Naive difference": "naive",
    "Regression adjustment": "regression",
    "Propensity weighting (IPW)": "ipw",
    "Doubly robust (AIPW)": "aipw",
    "Matching (nearest neighbour)": "matching",
    "Callaway-Sant'Anna DiD (unconditional)": "cs_did_unconditional",
    "Random-effects meta-analysis": "random_effects",
    "Fixed-effect meta-analysis": "fixed_effect",
}

#: The options of the district ``Specification`` typed as a ``Literal``, by field name, in the
#: order of its fields (its annotations use the same types; tests/test_report_catalog.py checks
#: that they agree).
SPECIFICATION_OPTIONS: dict[str, object] = {
    "est_method": EstMethod,
    "control_group": ControlGroup,
    "late_exposed": LateExposed,
    "ps_model": PropensityModel,
    "base_period": BasePeriod,
    "aggregation": Aggregation,
    "inference": Inference,
    "boot_weights": BootWeights,
    "twfe_vcov": Vcov,
    "multitest": MultipleTesting,
}


def allowed(option: object) -> tuple[str, ...]:
    """The values of an option type.

    Parameters
    ----------
    option
        A ``Literal`` of this module, e.g. :data:`ControlGroup`.

    Returns
    -------
    tuple of str
        Its values in their declared order (``typing.get_args``).
    """
    return tuple(str(v) for v in get_args(option))


def method_code(method: str) -> str:
    """The code of a method given as a code or as its old English label.

    Parameters
    ----------
    method
        A :data:`Method` code (``"cs_did"``) or a key of :data:`OLD_METHOD_LABELS`
        (``"Callaway-Sant'Anna DiD"``); other text is returned as it is.

    Returns
    -------
    str
        The code.
    """
    return OLD_METHOD_LABELS.get(method, method)


def method_names(method: str) -> tuple[str, ...]:
    """Every name a method's results may carry: its code and its old English labels.

    Parameters
    ----------
    method
        A code or an old label.

    Returns
    -------
    tuple of str
        The code first, then the old labels of that code (for tables written before the codes).
    """
    code = method_code(method)
    return (code, *(k for k, v in OLD_METHOD_LABELS.items() if v == code))
