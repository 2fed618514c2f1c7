"""The nucleation rate from induction times (analysis/nucleation_rate.py).

Independent answers: waiting times drawn from an exponential of known rate (the estimate must
find it, and its 95 % interval must cover it about 95 % of the time, censoring included), and
chi-square quantiles from printed tables for one worked case."""

import numpy as np
import pytest
from cubemc.analysis.nucleation_rate import nucleation_rate


def test_a_worked_case_with_one_censored_run():
    # 2 nuclei after 100 and 300 sweeps, a third run waited 600 sweeps in vain; boxes of 10 sigma^3:
    # exposure 1000 sweeps, rate 2 / (1000 * 10); chi2 tables: 0.4844 (2.5 %, 4 dof), 14.449 (97.5 %, 6)
    r = nucleation_rate([100, 300], [600], 10.0)
    assert (r.events, r.runs, r.exposure) == (2, 3, 1000.0)
    assert r.rate == pytest.approx(2e-4)
    assert r.low == pytest.approx(0.4844 / 20000, rel=1e-4)
    assert r.high == pytest.approx(14.449 / 20000, rel=1e-4)
    assert r.mean_wait == 500.0 and r.text() == "0.0002 (2e-05–0.0007)"


def test_no_nucleus_gives_an_upper_bound_only():
    # chi2 table: 7.378 (97.5 %, 2 dof): "no event in T" bounds the rate by 3.69 / T
    r = nucleation_rate([], [1e6, 1e6], 2000.0)
    assert r.events == 0 and r.rate == r.low == 0.0 and r.mean_wait is None
    assert r.high == pytest.approx(7.378 / (2 * 2e6 * 2000), rel=1e-3)
    assert r.text().startswith("< ")
    assert nucleation_rate([], [], 10.0) is None and nucleation_rate([5], [], 0.0) is None


def _sample(rng, rate, volume, runs, length):
    """Induction times of `runs` boxes with nuclei at `rate` per volume and sweep, cut at `length`."""
    waits = rng.exponential(1.0 / (rate * volume), runs)
    return waits[waits < length], np.full(int((waits >= length).sum()), float(length))


def test_the_estimate_finds_a_known_rate_with_most_runs_censored():
    rng = np.random.default_rng(5)
    rate, volume = 3e-10, 6667.0  # mean wait 5 x 10^5 sweeps; runs of 10^6: 14 % censored
    found = nucleation_rate(*_sample(rng, rate, volume, 4000, 1e6), volume)
    assert found.rate == pytest.approx(rate, rel=0.05)  # sd of the estimate: 1.7 %
    assert found.low < rate < found.high
    short = nucleation_rate(*_sample(rng, rate, volume, 4000, 2e5), volume)  # 67 % censored
    assert short.rate == pytest.approx(rate, rel=0.08)  # dropping the censored runs' sweeps: x 2.3


def test_the_interval_covers_the_rate_95_percent_of_the_time():
    rng = np.random.default_rng(11)
    rate, volume, trials = 3e-10, 6667.0, 2000
    covered = 0
    for _ in range(trials):
        r = nucleation_rate(*_sample(rng, rate, volume, 4, 6e5), volume)
        covered += r.low <= rate <= r.high
    # 95 % nominal; a binomial sd of 0.5 %: the interval must not be far too narrow or too wide
    assert 0.92 < covered / trials < 0.985, covered / trials
