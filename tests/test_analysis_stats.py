"""Block averaging and replica combination on series whose error is known exactly."""

import math

import numpy as np
import pytest
from cubemc.analysis.stats import (
    MIN_EFFECTIVE,
    MIN_REPLICAS,
    Estimate,
    block_average,
    combine_replicas,
    difference,
    replica_statistics,
    time_average,
)
from cubemc.analysis.synthetic import correlated_series


def exact_sem(n, correlation, sigma=1.0):
    """Standard error of the mean of a long AR(1) series."""
    return sigma * math.sqrt((1 + correlation) / ((1 - correlation) * n))


@pytest.mark.parametrize("correlation", [0.0, 0.5, 0.9])
def test_one_run_error_matches_the_exact_value(correlation):
    rng = np.random.default_rng(11)
    n = 8192
    ratios, effective = [], []
    for _ in range(20):
        est = block_average(correlated_series(n, correlation, rng, mean=3.0))
        ratios.append(est.sem / exact_sem(n, correlation))
        effective.append(est.effective)
        assert est.converged and est.frames == n and est.replicas == 1
    # blocks of at most n/8 frames leave the error estimate ~25 % noisy per run; its median is right
    assert 0.85 < np.median(ratios) < 1.15
    exact_effective = n * (1 - correlation) / (1 + correlation)
    assert 0.7 < np.median(effective) / exact_effective < 1.35


def test_a_run_shorter_than_its_correlation_time_is_flagged():
    rng = np.random.default_rng(5)
    flagged = [not block_average(correlated_series(200, 0.99, rng)).converged for _ in range(20)]
    assert all(flagged)  # about one effective sample: no trustworthy error


def test_uncorrelated_noise_counts_every_frame():
    rng = np.random.default_rng(2)
    est = block_average(rng.normal(1.0, 2.0, 4000))
    assert est.mean == pytest.approx(1.0, abs=4 * 2 / math.sqrt(4000))
    assert est.sem == pytest.approx(2 / math.sqrt(4000), rel=0.3)
    assert est.effective > 2000 and est.effective >= MIN_EFFECTIVE


def test_constant_and_empty_series():
    const = block_average([1.0] * 50)
    assert const.mean == 1.0 and const.sem == 0.0 and const.effective == 50 and const.converged
    empty = block_average([None, float("nan")])
    assert empty.frames == 0 and not empty.known and not empty.converged
    few = block_average([1.0, 2.0, 3.0])  # fewer frames than blocks needed
    assert math.isnan(few.sem) and not few.converged


def test_combine_replicas_takes_the_larger_error():
    runs = [Estimate(1.0, 0.01, 100, 50.0), Estimate(2.0, 0.01, 100, 50.0)]
    both = combine_replicas(runs)
    assert both.mean == 1.5 and both.replicas == 2 and both.frames == 200 and both.effective == 100
    assert both.sem == pytest.approx(0.5)  # scatter of the run means, not the tiny in-run errors
    agreeing = combine_replicas([Estimate(1.0, 0.2, 100, 50.0), Estimate(1.01, 0.2, 100, 50.0)])
    assert agreeing.sem == pytest.approx(math.sqrt(0.08) / 2)  # pooled in-run errors
    one = combine_replicas([Estimate(1.0, 0.1, 100, 40.0, converged=False)])
    assert one.sem == 0.1 and one.replicas == 1 and not one.converged
    short = [Estimate(1.0 + 0.1 * i, 0.05, 100, 10.0, converged=False) for i in range(MIN_REPLICAS)]
    assert combine_replicas(short).converged  # the scatter of three runs needs no in-run error
    assert not combine_replicas(short[:2]).converged
    assert combine_replicas([None]).replicas == 0


def test_estimate_json_round_trip_and_difference():
    est = Estimate(1.0, 0.3, 10, 5.0, 2, False)
    assert Estimate.from_dict(est.as_dict()) == est
    assert Estimate.from_dict({"mean": 1.0, "sem": None, "frames": 3}).sem != 0.3
    assert Estimate.from_dict(None) is None
    d, s = difference(Estimate(3.0, 0.3, 1, 1.0), Estimate(1.0, 0.4, 1, 1.0))
    assert d == 2.0 and s == pytest.approx(0.5)


def test_replica_statistics_and_time_average():
    out = replica_statistics([[10, 10, 1, 1, 1, 1], [10, 10, 3, 3, 3, 3]], discard=1 / 3)
    assert out["per_replica"] == [1.0, 3.0] and out["mean"] == 2.0 and np.isclose(out["sem"], 1.0)
    assert np.isnan(replica_statistics([[1, 2, 3]])["sem"])
    assert np.isnan(time_average([]))
    assert time_average([None, 2.0, float("nan"), 4.0]) == 3.0
