"""VMMC cluster moves in a SimulationBatch: one call (one GPU launch) for every member's moves.

Each system draws its own random streams, so a batch whose members carry VMMC updaters must make
exactly the moves of the members run one by one: the same positions, bond counts, VMMC counters
and recorded traces.  A batch refuses updaters it cannot run together, before any sweep.  The GPU
kernel's equality with the CPU (also for batches) is in tests/test_gpu_vmmc.py.
"""

import numpy as np
import pytest

import cubemc
from cubemc import InputError
from cubemc.npt import BoxMove
from cubemc.vmmc import VMMC

pytestmark = pytest.mark.usefixtures("one_numba_thread")


def blocks(seed, beta_eps=-6.0):
    """32 cubes in 4 bonded 2x2x2 blocks in a box of 8 (well 1.3)."""
    block = np.indices((2, 2, 2)).reshape(3, -1).T * 1.05
    corners = np.array([[0, 0, 0], [4, 0, 0], [0, 4, 0], [4, 4, 4]], float)
    positions = (corners[:, None, :] + block[None]).reshape(-1, 3)
    state = cubemc.State(positions, np.tile([1.0, 0, 0, 0], (32, 1)), [8.0] * 3)
    return cubemc.Simulation(
        state, beta_eps, 1.3, seed=seed, device="cpu", translate_size=0.1, rotate_size=0.1
    )


def with_vmmc(sim, **kwargs):
    vmmc = VMMC(
        period=3, moves_per_particle=0.5, translate_size=0.6, rotate_size=0.4, pivot_radius=1.5, **kwargs
    )
    vmmc.record = True
    sim.operations.updaters.append(vmmc)
    return sim, vmmc


def test_a_batch_with_vmmc_makes_the_moves_of_separate_runs():
    cases = [(1, -6.0, {}), (2, -4.0, dict(translate_fraction=0.2)), (3, -6.0, dict(max_cluster=8))]
    alone = [with_vmmc(blocks(seed, eps), **kw) for seed, eps, kw in cases]
    together = [with_vmmc(blocks(seed, eps), **kw) for seed, eps, kw in cases]
    for sim, _ in alone:
        sim.run(5)
        sim.run(6)
    batch = cubemc.SimulationBatch([sim for sim, _ in together])
    first = batch.run(5)
    trace = np.concatenate([first, batch.run(6)], axis=1)
    for (a, va), (b, vb), row in zip(alone, together, trace, strict=True):
        assert b.sweep == a.sweep == 11 and b.bonds == a.bonds == row[-1]
        assert np.array_equal(b.positions, a.positions) and np.array_equal(b.orientations, a.orientations)
        assert vb.counts == va.counts and np.array_equal(vb.trace, va.trace)
        assert va.counts["translate_trials"] + va.counts["rotate_trials"] == 3 * 16  # acted at 3, 6, 9
        assert b.state.count_pairs(b.well_range) == (b.bonds, 0)
    # the moves did something, and differently in each system
    assert all(v.counts["largest_cluster"] >= 2 for _, v in together)
    assert len({tuple(v.counts.values()) for _, v in together}) == 3


def test_a_batch_refuses_updaters_it_cannot_run_together_before_any_sweep():
    def attempt(sims):
        with pytest.raises(InputError) as err:
            cubemc.SimulationBatch(sims).run(4)
        assert "\n" not in str(err.value)
        assert all(s.sweep == 0 for s in sims)  # nothing ran
        return str(err.value)

    assert "VMMC cluster moves only" in attempt([with_vmmc(blocks(1))[0], blocks(2)])
    boxed = blocks(2)
    boxed.operations.updaters.append(BoxMove(pressure=1.0))
    assert "VMMC cluster moves only" in attempt([with_vmmc(blocks(1))[0], boxed])
    other = with_vmmc(blocks(2))[0]
    other.operations.updaters[0].period = 2
    assert "same sweeps" in attempt([with_vmmc(blocks(1))[0], other])
    other = with_vmmc(blocks(2))[0]
    other.operations.updaters[0].moves_per_particle = 1.0
    assert "as many moves" in attempt([with_vmmc(blocks(1))[0], other])


def test_a_batch_member_alone_is_refused_vmmc():
    sims = [with_vmmc(blocks(seed))[0] for seed in (1, 2)]
    cubemc.SimulationBatch(sims).run(3)
    with pytest.raises(InputError, match="attach it to every member"):
        VMMC().run_alone(sims[0], 1)
