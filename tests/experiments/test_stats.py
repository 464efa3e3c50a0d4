"""Student-t CDF and quantile without scipy, and the replication confidence intervals built on them.

scipy is the yardstick here only (it is a test dependency). The tolerance against scipy is 1e-9
relative because older scipy releases computed ``t.ppf`` less accurately (to about 1e-11); the
tighter claims are checked against reference values computed with mpmath at 40 digits.
"""

from __future__ import annotations

import dataclasses
import math
import random
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from ecssim.experiments.stats import Interval, lower_bound, mean_interval, t_cdf, t_quantile, upper_bound

DFS = [1, 1.5, 2, 3, 4, 5, 9, 10, 29, 30, 100, 1000, 1e6]
PS = [1e-6, 0.001, 0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 1 - 1e-6]
GRID = [(df, p) for df in DFS for p in PS]

# (df, p, quantile) and (df, t, CDF), from mpmath (40 digits, regularized incomplete beta).
REFERENCE_QUANTILES = [
    (1.5, 1e-06, -5219.469324706946),
    (3, 0.025, -3.1824463052837095),
    (9, 0.975, 2.262157162798205),
    (9, 0.95, 1.8331129326562372),
    (29, 0.3, -0.5302143957091608),
    (100, 1e-06, -5.048830877228346),
    (999, 0.01, -2.330086419039457),  # last df on the continued-fraction side
    (1000, 0.01, -2.330082674755513),  # first df on the BGRAT side
    (1e6, 0.001, -3.09024045631652),
    (0.5, 0.1, -10.270324410234505),
    (4.5, 1e-100, -2.411253249559218e22),
]
REFERENCE_CDFS = [
    (1.5, -300.0, 7.256944095047335e-05),
    (3, -2.5, 0.04385332350403277),
    (9, 1.0, 0.8282818019310433),
    (29, -0.125, 0.4506930230952103),
    (100, -6.0, 1.5862457514014284e-08),
    (999, -3.0, 0.001383388230073897),
    (1000, -3.0, 0.0013833545221190963),
    (1e6, -5.0, 2.866998935445371e-07),
    (0.5, -10.0, 0.10133867638566557),
    (7.25, -40.0, 4.5004284104708706e-10),
]

SAMPLE = [312.5, 287.0, 301.25, 355.5, 276.0, 298.75, 330.0, 290.5, 315.25, 309.0]


# --- t_quantile and t_cdf -----------------------------------------------------------------------


@pytest.mark.parametrize(("df", "p"), GRID)
def test_t_quantile_matches_scipy(df, p):
    assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("df", "p"), GRID)
def test_t_cdf_matches_scipy(df, p):
    for x in (stats.t.ppf(p, df), 1.5 * stats.t.ppf(p, df) + 0.25):
        assert t_cdf(x, df) == pytest.approx(stats.t.cdf(x, df), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("df", "p", "expected"), REFERENCE_QUANTILES)
def test_t_quantile_matches_high_precision_references(df, p, expected):
    assert t_quantile(p, df) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize(("df", "t", "expected"), REFERENCE_CDFS)
def test_t_cdf_matches_high_precision_references(df, t, expected):
    assert t_cdf(t, df) == pytest.approx(expected, rel=1e-13)


def test_textbook_values():
    # Printed tables (and scipy before its Boost-based ppf) give 2.2621571627409915 and
    # 1.8331129326536335, which are 2.5e-11 and 1.4e-12 off; these are the exact roundings.
    assert t_quantile(0.975, 9) == pytest.approx(2.2621571627982055, rel=1e-14)
    assert t_quantile(0.95, 9) == pytest.approx(1.8331129326562372, rel=1e-14)
    assert t_quantile(0.975, 9) == pytest.approx(2.2621571627409915, rel=1e-10)
    assert t_quantile(0.95, 9) == pytest.approx(1.8331129326536335, rel=1e-10)


@pytest.mark.parametrize(("df", "p"), GRID)
def test_round_trip(df, p):
    t = t_quantile(p, df)
    back = t_cdf(t, df)
    assert abs(back - p) <= 1e-11 * min(p, 1.0 - p)


@pytest.mark.parametrize("df", [*DFS, 0.3, 7.5, math.inf])
def test_half_is_exactly_zero(df):
    assert t_quantile(0.5, df) == 0.0
    assert t_cdf(0.0, df) == 0.5


def cauchy_quantile(p: float) -> float:
    """tan(π(p - 1/2)), written as ∓cot near 0 and 1 where p - 1/2 would lose p's digits."""
    if p < 0.25:
        return -1.0 / math.tan(math.pi * p)
    if p > 0.75:
        return 1.0 / math.tan(math.pi * (1.0 - p))
    return math.tan(math.pi * (p - 0.5))


def two_df_cdf(t: float) -> float:
    """1/2 + t / (2√(2 + t²)), rearranged for t < 0 so that it does not cancel."""
    s = math.sqrt(2.0 + t * t)
    return 1.0 / (s * (s - t)) if t < 0.0 else 0.5 + t / (2.0 * s)


def test_cauchy_and_two_degrees_of_freedom_closed_forms():
    for p in (1e-9, 0.01, 0.2, 0.25, 0.4, 0.5 - 1e-12, 0.8, 1 - 1e-9):
        assert t_quantile(p, 1) == pytest.approx(cauchy_quantile(p), rel=1e-12)
        assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-12)
    for t in (-1e6, -3.0, -1e-9, 0.5, 40.0):
        assert t_cdf(t, 1) == pytest.approx(math.atan2(1.0, -t) / math.pi, rel=1e-13)
        assert t_cdf(t, 2) == pytest.approx(two_df_cdf(t), rel=1e-13)
    # The general solver (df just off 1 and 2) agrees with the closed forms.
    for p in (1e-6, 0.05, 0.3):
        assert t_quantile(p, 1 + 1e-12) == pytest.approx(t_quantile(p, 1), rel=1e-9)
        assert t_quantile(p, 2 - 1e-12) == pytest.approx(t_quantile(p, 2), rel=1e-9)


def test_infinite_df_is_the_standard_normal():
    normal = NormalDist()
    for p in (1e-12, 0.025, 0.3, 0.975):
        assert t_quantile(p, math.inf) == normal.inv_cdf(p)
    for x in (-3.0, -0.5, 0.0, 1.96, 6.0):
        assert t_cdf(x, math.inf) == pytest.approx(normal.cdf(x), rel=1e-15)
    assert t_cdf(-30.0, math.inf) == pytest.approx(stats.norm.cdf(-30.0), rel=1e-13)  # deep lower tail


def test_large_df_approaches_the_normal_smoothly():
    # 1e8 and 1e12 degrees of freedom use the BGRAT series; the t tail is slightly heavier.
    for df in (1e8, 1e12):
        assert t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-12)
        assert t_cdf(-4.0, df) == pytest.approx(stats.t.cdf(-4.0, df), rel=1e-11)
        assert t_cdf(-4.0, df) > t_cdf(-4.0, math.inf)


def test_extreme_tails():
    assert t_cdf(-math.inf, 3) == 0.0 and t_cdf(math.inf, 3) == 1.0
    assert math.isnan(t_cdf(math.nan, 3))
    t = t_quantile(1e-300, 1.5)
    assert t_cdf(t, 1.5) == pytest.approx(1e-300, rel=1e-10)
    assert t_quantile(1e-200, 0.02) == -math.inf  # beyond the float range
    assert t_quantile(1 - 1e-16, 0.02) == math.inf


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5, math.nan, math.inf])
def test_t_quantile_rejects_probabilities_outside_the_open_unit_interval(p):
    with pytest.raises(ValueError, match="probability"):
        t_quantile(p, 5)


@pytest.mark.parametrize("df", [0, -1, -math.inf, math.nan])
def test_degrees_of_freedom_must_be_positive(df):
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_quantile(0.9, df)
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_cdf(1.0, df)


@given(
    df=st.floats(min_value=0.05, max_value=1e7),
    p1=st.floats(min_value=1e-12, max_value=1 - 1e-12),
    p2=st.floats(min_value=1e-12, max_value=1 - 1e-12),
)
def test_quantile_is_increasing_in_p(df, p1, p2):
    low, high = sorted((p1, p2))
    t_low, t_high = t_quantile(low, df), t_quantile(high, df)
    assert t_low <= t_high + 1e-12 * max(abs(t_low), abs(t_high))


@given(df=st.floats(min_value=0.05, max_value=1e7), q=st.floats(min_value=1e-12, max_value=0.5))
def test_quantile_is_odd_symmetric(df, q):
    p = 1.0 - q
    q = 1.0 - p  # exact for p >= 1/2, so p and q are exact complements
    assert t_quantile(p, df) == pytest.approx(-t_quantile(q, df), rel=1e-12, abs=0.0)


@given(df=st.floats(min_value=0.5, max_value=1e7), p=st.floats(min_value=1e-100, max_value=0.5))
def test_quantile_round_trip_property(df, p):
    assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, rel=1e-10)


# --- mean_interval, upper_bound, lower_bound ---------------------------------------------------


@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99, 0.999])
def test_mean_interval_matches_scipy(confidence):
    values = np.array(SAMPLE)
    interval = mean_interval(SAMPLE, confidence)
    low, high = stats.t.interval(confidence, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert interval.n == len(SAMPLE)
    assert interval.mean == pytest.approx(values.mean(), rel=1e-15)
    assert interval.std == pytest.approx(values.std(ddof=1), rel=1e-14)
    assert (interval.low, interval.high) == pytest.approx((low, high), rel=1e-9)
    assert interval.confidence == confidence
    assert interval.low < interval.mean < interval.high


def test_mean_interval_default_confidence_and_textbook_width():
    interval = mean_interval(SAMPLE)
    assert interval.confidence == 0.95
    half = 2.2621571627982055 * np.std(SAMPLE, ddof=1) / math.sqrt(10)
    assert interval.high - interval.mean == pytest.approx(half, rel=1e-13)
    assert interval.mean - interval.low == pytest.approx(half, rel=1e-13)


def test_inputs_can_be_lists_arrays_and_series_and_nan_is_dropped():
    with_nan = [SAMPLE[0], math.nan, *SAMPLE[1:], float("nan")]
    expected = mean_interval(SAMPLE)
    assert mean_interval(with_nan) == expected
    assert mean_interval(np.array(with_nan)) == expected
    assert mean_interval(pd.Series(with_nan)) == expected
    assert mean_interval(iter(with_nan)) == expected
    assert mean_interval(value for value in with_nan).n == len(SAMPLE)
    assert upper_bound(pd.Series(with_nan)) == upper_bound(SAMPLE)
    assert lower_bound(np.array(with_nan)) == lower_bound(SAMPLE)


def test_empty_sample_is_all_nan():
    for values in ([], [math.nan, math.nan]):
        interval = mean_interval(values)
        assert interval.n == 0
        assert all(math.isnan(v) for v in (interval.mean, interval.std, interval.low, interval.high))
        assert math.isnan(upper_bound(values)) and math.isnan(lower_bound(values))


def test_single_value_has_a_mean_but_no_interval():
    interval = mean_interval([math.nan, 42.5])
    assert interval.n == 1 and interval.mean == 42.5
    assert math.isnan(interval.std) and math.isnan(interval.low) and math.isnan(interval.high)
    assert math.isnan(upper_bound([42.5])) and math.isnan(lower_bound([42.5]))


def test_equal_values_give_a_zero_width_interval_at_the_value():
    for value in (0.1, 300.0, -7.3, 1e-300):
        values = [value] * 7
        interval = mean_interval(values, 0.99)
        assert (interval.n, interval.mean, interval.std) == (7, value, 0.0)
        assert interval.low == interval.high == value
        assert upper_bound(values) == lower_bound(values) == value


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_one_sided_bounds_match_scipy(confidence):
    values = np.array(SAMPLE)
    margin = stats.t.ppf(confidence, len(values) - 1) * stats.sem(values)
    assert upper_bound(SAMPLE, confidence) == pytest.approx(values.mean() + margin, rel=1e-12)
    assert lower_bound(SAMPLE, confidence) == pytest.approx(values.mean() - margin, rel=1e-12)
    two_sided = mean_interval(SAMPLE, 2 * confidence - 1)  # its upper end is the one-sided bound
    assert upper_bound(SAMPLE, confidence) == pytest.approx(two_sided.high, rel=1e-14)
    assert lower_bound(SAMPLE, confidence) == pytest.approx(two_sided.low, rel=1e-14)


def test_bounds_default_to_95_percent_and_answer_a_capacity_question():
    assert upper_bound(SAMPLE) == upper_bound(SAMPLE, 0.95)
    assert lower_bound(SAMPLE) == lower_bound(SAMPLE, 0.95)
    assert lower_bound(SAMPLE) < mean_interval(SAMPLE).mean < upper_bound(SAMPLE)
    assert upper_bound(SAMPLE) <= 325.0  # "mean ≤ 325 s with 95% confidence": yes
    assert not upper_bound(SAMPLE, 0.99) <= 325.0  # with 99% confidence: not shown


def test_two_values():
    interval = mean_interval([1.0, 3.0], 0.95)
    assert (interval.n, interval.mean, interval.std) == (2, 2.0, math.sqrt(2.0))
    # t_{0.975, 1} = tan(0.475 π) = 12.7062...; half width = t · √2 / √2.
    assert interval.high == pytest.approx(2.0 + math.tan(0.475 * math.pi), rel=1e-14)


def test_results_do_not_depend_on_the_order_of_the_values():
    values = [1e16, 1.0, -1e16, 3.5, 2.25, 1e-3, 7.0]
    shuffled = list(values)
    random.Random(7).shuffle(shuffled)
    assert mean_interval(values) == mean_interval(shuffled)
    assert mean_interval(values).mean == math.fsum(values) / len(values)
    assert upper_bound(values) == upper_bound(shuffled)


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5, 95, math.nan])
def test_confidence_must_be_in_the_open_unit_interval(confidence):
    for function in (mean_interval, upper_bound, lower_bound):
        with pytest.raises(ValueError, match="confidence"):
            function(SAMPLE, confidence)
        with pytest.raises(ValueError, match="confidence"):
            function([], confidence)


def test_interval_is_a_frozen_dataclass():
    interval = mean_interval(SAMPLE)
    assert isinstance(interval, Interval)
    assert [field.name for field in dataclasses.fields(Interval)] == [
        "n", "mean", "std", "low", "high", "confidence"
    ]
    assert isinstance(interval.n, int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        interval.mean = 0.0  # type: ignore[misc]
