"""Vacancy criteria on synthetic runs with a known answer: clearly localised, clearly
delocalised, undecidable, too short and too small, one replica and several."""

import numpy as np
import pytest
from cubemc.analysis.claims import CLAIMS
from cubemc.analysis.criteria import TESTS, judge
from cubemc.analysis.evidence import vacancy_points
from cubemc.analysis.synthetic import vacancy_job
from cubemc.analysis.vacancy_criteria import ON_SITE_BOUND
from cubemc.analysis.verdicts import AGREE, DISAGREE, INSUFFICIENT, NOT_MEASURED, TOO_SMALL

LIMIT = 0.2  # excess line shift of a localised vacancy in the strong-attraction limit (a)
BULK = 0.1  # thermal line shift of bulk sites (shown beside V3, not its bound)


def verdict(cid, *jobs):
    groups = {}
    for job in jobs:
        groups.setdefault(float(job["statepoint"]["beta_epsilon"]), []).append(job)
    claim = next(c for c in CLAIMS if c.id == cid)
    return judge(claim, {"vacancy_points": vacancy_points(groups)})


def limit_run(**kw):
    return vacancy_job(-3.0, LIMIT, bulk=BULK, seed=100, **kw)


def test_every_claim_names_a_known_test_or_a_reason():
    for claim in CLAIMS:
        assert claim.test in TESTS or (claim.test is None and claim.reason)


def test_v3_clearly_localised():
    v = verdict("V3", limit_run(), vacancy_job(-1.0, LIMIT, bulk=BULK, seed=1))
    assert v.verdict == AGREE
    assert "±" in v.value and "limit" in v.value and "400 frames" in v.evidence


def test_v3_clearly_delocalised():
    v = verdict("V3", limit_run(), vacancy_job(-1.0, LIMIT + 0.5, bulk=BULK, seed=2))
    assert v.verdict == DISAGREE


def test_v3_on_the_bound_is_undecidable():
    on_bound = vacancy_job(-1.0, LIMIT + ON_SITE_BOUND, bulk=BULK, noise=0.3, correlation=0.8, seed=3)
    assert verdict("V3", limit_run(), on_bound).verdict == INSUFFICIENT


@pytest.mark.parametrize("bulk", [0.05, 0.3])
def test_v3_bound_is_halfway_to_two_sites_whatever_the_bulk_floor(bulk):
    """0.25 a = half the line shift of a vacancy shared by two sites; the bulk floor only informs."""
    assert ON_SITE_BOUND == pytest.approx(0.25)
    near = vacancy_job(-1.0, LIMIT + 0.15, bulk=bulk, seed=20)
    far = vacancy_job(-1.0, LIMIT + 0.35, bulk=bulk, seed=21)
    assert verdict("V3", limit_run(), near).verdict == AGREE
    assert verdict("V3", limit_run(), far).verdict == DISAGREE


def spread_of(v):
    """(mean, error) of the spread a vacancy verdict states."""
    text = v.value.split("spread ")[1].split(" a")[0]
    return tuple(float(x) for x in text.split(" ± "))


def test_one_replica_gets_its_error_from_block_averaging():
    """AR(1) runs with a known error of the mean: noise σ, lag-one correlation ρ, n frames give
    σ √((1 + ρ) / ((1 − ρ) n)): 0.0436 a at -1 and 0.0087 a in the limit, 0.0444 a combined."""
    v = verdict(
        "V3", limit_run(), vacancy_job(-1.0, LIMIT + 0.05, bulk=BULK, noise=0.2, correlation=0.9, seed=4)
    )
    mean, err = spread_of(v)
    assert 0.5 * 0.0444 < err < 1.6 * 0.0444 and mean == pytest.approx(0.05, abs=3 * err)
    assert v.evidence.startswith("1 run(s), 400 frames")
    assert v.verdict == AGREE  # 0.05 + 2 x 0.044 < 0.25


def test_replicas_that_scatter_more_than_their_block_errors_take_the_scatter():
    """A mode slower than one run (rare excursions at -1): three runs of small block errors whose
    means differ by far more. Their scatter is the error, and it leaves V3 undecided."""
    runs = [
        vacancy_job(-1.0, LIMIT + s, bulk=BULK, noise=0.02, seed=30, replica=r)
        for r, s in enumerate((0.05, 0.15, 0.35))
    ]
    mean, err = spread_of(verdict("V3", limit_run(), *runs))
    scatter = np.std([0.05, 0.15, 0.35], ddof=1) / np.sqrt(3)
    assert mean == pytest.approx(0.183, abs=0.01) and err == pytest.approx(scatter, rel=0.1)
    assert verdict("V3", limit_run(), *runs).verdict == INSUFFICIENT
    assert verdict("V3", limit_run(), runs[0]).verdict == AGREE  # one of them alone would agree


def test_replicas_are_combined():
    runs = [vacancy_job(-1.0, LIMIT, bulk=BULK, seed=5, replica=r) for r in range(3)]
    v = verdict("V3", limit_run(), *runs)
    assert v.verdict == AGREE and "3 run(s), 1200 frames" in v.evidence


def test_runs_too_short_for_their_own_error_are_insufficient():
    slow = vacancy_job(-1.0, LIMIT, bulk=BULK, correlation=0.995, noise=0.3, seed=6)
    v = verdict("V3", limit_run(), slow)
    assert v.verdict == INSUFFICIENT and "too short for its own error" in v.evidence


def test_without_a_strong_attraction_reference_nothing_is_decided():
    v = verdict("V3", vacancy_job(-1.0, LIMIT, seed=7), vacancy_job(0.0, 1.4, seed=8))
    assert v.verdict == INSUFFICIENT and "βε ≤ -2" in v.test
    assert verdict("V3", limit_run()).verdict == NOT_MEASURED


def test_v1_hard_cubes_delocalised_localised_and_too_small():
    assert verdict("V1", limit_run(), vacancy_job(0.0, LIMIT + 1.2, seed=9)).verdict == AGREE
    assert verdict("V1", limit_run(), vacancy_job(0.0, LIMIT + 0.05, seed=10)).verdict == DISAGREE
    small = verdict("V1", limit_run(n_cells=6), vacancy_job(0.0, LIMIT + 1.2, n_cells=6, seed=11))
    assert small.verdict == TOO_SMALL and "at most 3 sites" in small.value


def test_v2_few_sites_or_still_long_rows():
    assert verdict("V2", limit_run(), vacancy_job(-0.5, LIMIT + 0.2, seed=12)).verdict == AGREE
    assert verdict("V2", limit_run(), vacancy_job(-0.5, LIMIT + 1.0, seed=13)).verdict == DISAGREE
    assert (
        verdict("V2", limit_run(), vacancy_job(-0.5, LIMIT + 0.5, noise=0.3, seed=14)).verdict == INSUFFICIENT
    )


def test_e1_attraction_localises_the_vacancy():
    hard = vacancy_job(0.0, LIMIT + 1.2, seed=15)
    v = verdict(
        "E1",
        limit_run(),
        hard,
        vacancy_job(-0.5, LIMIT + 0.4, seed=16),
        vacancy_job(-1.0, LIMIT, bulk=BULK, seed=17),
    )
    assert v.verdict == AGREE and "from βε = -1" in v.value
    localised_hard = vacancy_job(0.0, LIMIT, bulk=BULK, seed=18)
    assert verdict("E1", limit_run(), localised_hard, vacancy_job(-1.0, LIMIT, seed=19)).verdict == DISAGREE
    assert verdict("E1", limit_run(), hard).verdict == INSUFFICIENT  # no attraction between 0 and the limit
