"""The VMMC link test against its definition, pair by pair.

cubemc/vmmc_kernels.py `test_pair` runs the costly overlap test only where a link's outcome hangs
on it.  Here it meets the rule written out with every overlap evaluated (`pair_state` now, after
the forward and after the reverse virtual move of one cube): same outcome, same number of draws,
same units change, for thousands of pairs in a dense fluid of cubes with a wide well, where the
virtual moves often overlap.  The statistical tests in tests/test_vmmc.py check the chain.
"""

import numpy as np

import cubemc
from cubemc import targets
from cubemc.kernel_basics import host_functions
from cubemc.vmmc import kernels

# the engine's periodic wrap (the one the moves use)
wrap = host_functions()["wrap"]
BETA_EPS = -0.5  # link weights 1 - e^-0.5 = 0.39: both sides of the draw are common


def dense_fluid():
    """64 cubes at packing fraction 0.5, well 1.3, disordered by 30 sweeps (no overlaps)."""
    state = cubemc.State.simple_cubic(n=4, packing_fraction=0.5)
    sim = cubemc.Simulation(state, BETA_EPS, 1.3, seed=5, device="cpu", translate_size=0.2, rotate_size=0.3)
    sim.run(30)
    pos, quat = (np.ascontiguousarray(a).copy() for a in sim.systems.configuration(0))
    shapes = np.ascontiguousarray(sim.systems.shape_params(0))
    pair_params = np.asarray(sim.kernel_parameters()[1], np.float64)
    return sim, (pos, quat, shapes), tuple(float(x) for x in sim.box), pair_params


def virtual_states(rng, pos, quat, i, box):
    """Old, forward and reverse 7-tuples of cube i: translated by +-t (|t| < 0.9) and turned by
    a random rotation and its inverse."""
    t = rng.uniform(-0.9, 0.9, 3) * rng.uniform() ** (1 / 3)
    axis = rng.normal(size=3)
    half = 0.5 * rng.uniform(-0.6, 0.6)
    w, v = np.cos(half), np.sin(half) * axis / np.linalg.norm(axis)

    def turned(sign):
        a0, a = quat[i, 0], quat[i, 1:]
        b = sign * v
        q = np.r_[w * a0 - b @ a, w * a + a0 * b + np.cross(b, a)]
        return tuple(q / np.linalg.norm(q))

    old = (*pos[i], *quat[i])
    fwd = (*(wrap(pos[i, k] + t[k], box[k]) for k in range(3)), *turned(1.0))
    rev = (*(wrap(pos[i, k] - t[k], box[k]) for k in range(3)), *turned(-1.0))
    return tuple(float(x) for x in old), tuple(float(x) for x in fwd), tuple(float(x) for x in rev)


def eager_link(k, pair_state, i, j, states, key, t, conf, box, pair_params, mind_overlaps=True):
    """The link rule with every overlap evaluated: (outcome, units change, draws, forward overlap)."""
    pos, quat, shapes = conf
    a, b = min(i, j), max(i, j)

    def at(s):
        k.place(i, s, pos, quat)
        overlap, units = pair_state(a, b, pos, quat, shapes, box, pair_params)
        k.place(i, states[0], pos, quat)
        return overlap and mind_overlaps, units

    _, units0 = at(states[0])
    overlap_f, units_f = at(states[1])
    p_fwd = k.link_weight(BETA_EPS, units0, units_f, overlap_f)
    if p_fwd <= 0.0:
        return 0, units_f - units0, t, overlap_f
    u = k.uniform(key, np.uint64(k.FIRST_LINK_DRAW + t))
    if u > p_fwd:
        return 0, units_f - units0, t + 1, overlap_f
    overlap_r, units_r = at(states[2])
    if u <= k.link_weight(BETA_EPS, units0, units_r, overlap_r):
        return 1, 0, t + 1, overlap_f
    return 2, units_f - units0, t + 1, overlap_f


def test_lazy_overlap_tests_give_the_links_of_the_full_rule():
    sim, conf, box, pair_params = dense_fluid()
    k, pair_state = kernels(sim.shape, sim.pair), targets.cpu(sim.shape, sim.pair).pair_state
    pos = conf[0]
    d = pos[None] - pos[:, None]
    d -= np.asarray(box) * np.floor(d / np.asarray(box) + 0.5)
    near = np.argwhere((np.einsum("ijk,ijk->ij", d, d) < 1.9**2) & ~np.eye(sim.N, dtype=bool))
    rng = np.random.default_rng(7)
    decided_by_overlap = 0  # pairs whose outcome differs when overlaps are ignored
    outcomes = np.zeros(3, int)
    for trial in range(6000):
        i, j = (int(x) for x in near[rng.integers(len(near))])
        states = virtual_states(rng, pos, conf[1], i, box)
        key, t = np.uint64(rng.integers(1 << 62)), int(rng.integers(0, 50))
        outcome, delta, draws, overlap_f = eager_link(
            k, pair_state, i, j, states, key, t, conf, box, pair_params
        )
        got = k.test_pair(i, j, states, key, t, conf, (box[0], box[1], box[2]), (pair_params, BETA_EPS))
        assert (got[0], got[2]) == (outcome, draws), (trial, got, outcome, draws)
        if outcome != 2 or not overlap_f:  # a frustrated pair's units change is never summed
            assert got[1] == delta, (trial, got, delta)
        blind = eager_link(k, pair_state, i, j, states, key, t, conf, box, pair_params, mind_overlaps=False)
        decided_by_overlap += blind[0] != outcome
        outcomes[outcome] += 1
    # the configuration is untouched and every branch was exercised
    assert np.array_equal(conf[0], pos) and decided_by_overlap > 300 and outcomes.min() > 100, (
        decided_by_overlap,
        outcomes,
    )
