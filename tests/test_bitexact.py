"""Bit-for-bit regression against results recorded from the engine before the open-engine redesign.

The fixtures in tests/fixtures/bitexact/ were written by ``python tests/test_bitexact.py --record``
on main at commit aabe71a (before any refactoring), on the 2-core x86_64 development machine.
Each case below rebuilds the same run with today's code; positions, orientations, bond counts,
acceptance counters, move sizes, every trajectory frame and every checkpoint key must be equal,
not merely close.  A failure here means a refactor changed the Markov chain.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import gsd.hoomd
import numpy as np
import pytest

import cubemc

FIXTURES = Path(__file__).parent / "fixtures" / "bitexact"
REPO = Path(__file__).resolve().parents[1]
#: log keys added since the fixtures were recorded (not compared here; test_engine checks them)
ADDED = ("/log/cubemc/seed", "/log/cubemc/pressure")


def _frames(path):
    """Every frame of a GSD file as flat arrays keyed 'k/name'."""
    out = {}
    with gsd.hoomd.open(str(path)) as traj:
        for k, f in enumerate(traj):
            out[f"{k}/step"] = np.array([f.configuration.step])
            out[f"{k}/box"] = np.asarray(f.configuration.box, np.float64)
            out[f"{k}/position"] = np.asarray(f.particles.position)
            out[f"{k}/orientation"] = np.asarray(f.particles.orientation)
            for key, value in f.log.items():
                out[f"{k}/log/{key}"] = np.asarray(value)
    return out


def _checkpoint(path):
    with np.load(str(path)) as data:
        return {f"ckpt/{k}": data[k] for k in data.files}


def _sim_summary(sim, prefix=""):
    return {
        prefix + "positions": sim.positions,
        prefix + "orientations": sim.orientations,
        prefix + "bonds": np.array([sim.bonds]),
        prefix + "sweep": np.array([sim.sweep]),
        prefix + "acceptance": np.array([sim.acceptance["translate"], sim.acceptance["rotate"]]),
        prefix + "move_sizes": np.array([sim.move_sizes["translate"], sim.move_sizes["rotate"]]),
    }


def case_checkerboard(tmp):
    """Tune, then run with a trajectory and checkpoints, then restart from the checkpoint."""
    state = cubemc.State.simple_cubic(n=5, packing_fraction=0.8, vacancies=1, seed=1)
    sim = cubemc.Simulation(state, -1.0, 1.14, seed=3, device="cpu")
    sim.tune(40)
    sim.run(60, trajectory=tmp / "t.gsd", period=20, checkpoint=tmp / "c.npz", checkpoint_period=40)
    out = {**_sim_summary(sim), **_frames(tmp / "t.gsd"), **_checkpoint(tmp / "c.npz")}
    again = cubemc.Simulation.from_checkpoint(tmp / "c.npz", device="cpu")
    again.run(30, trajectory=tmp / "t.gsd", period=20)
    out.update(_sim_summary(again, "restart/"))
    return out


def case_wide_well(tmp):
    """A well wider than the circumsphere (cells set by the well), rotations and translations."""
    state = cubemc.State.simple_cubic(n=6, packing_fraction=0.6, vacancies=3, seed=5)
    sim = cubemc.Simulation(state, -0.7, 1.9, seed=11, device="cpu", translate_size=0.15, rotate_size=0.3)
    trace = sim.run_trace(25)
    return {**_sim_summary(sim), "trace": trace}


def case_serial(tmp):
    state = cubemc.State.simple_cubic(n=4, packing_fraction=0.7, vacancies=2, seed=2)
    sim = cubemc.Simulation(state, -2.0, 1.14, seed=9, device="cpu", schedule="serial")
    sim.tune(20, period=5)
    trace = sim.run_trace(20)
    return {**_sim_summary(sim), "trace": trace}


def case_batch(tmp):
    sims = []
    for b, beta in enumerate((0.0, -0.5, -1.5)):
        state = cubemc.State.simple_cubic(n=4, packing_fraction=0.8, vacancies=1, seed=b)
        sims.append(cubemc.Simulation(state, beta, 1.14, seed=20 + b, device="cpu"))
    trace = cubemc.SimulationBatch(sims).run(30)
    out = {"trace": trace}
    for b, sim in enumerate(sims):
        out.update(_sim_summary(sim, f"{b}/"))
    return out


def case_fluid(tmp):
    state = cubemc.State.fluid(64, 0.35, seed=4)
    sim = cubemc.Simulation(state, -3.0, 1.14, seed=6, device="cpu")
    trace = sim.run_trace(15)
    return {
        "initial_positions": state.positions,
        "initial_orientations": state.orientations,
        "box": state.box,
        **_sim_summary(sim),
        "trace": trace,
    }


def case_workflow(tmp):
    """The tiny workflow of the tests, one job, from init.py to final.npz."""
    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import TINY_GRID, cli

    project = tmp / "project"
    cli("init.py", "--project-dir", project, *TINY_GRID, "--beta-epsilon", "-1", cwd=tmp)
    cli("project.py", "run", "-o", "create_initial_state", "equilibrate", "sample", cwd=project, timeout=900)
    (job,) = [p for p in (project / "workspace").iterdir() if p.is_dir()]
    out = {**_frames(job / "trajectory.gsd"), **_checkpoint(job / "final.npz")}
    out.update({f"eq/{k}": v for k, v in _checkpoint(job / "equilibrated.npz").items()})
    return out


CASES = {
    "checkerboard": case_checkerboard,
    "wide_well": case_wide_well,
    "serial": case_serial,
    "batch": case_batch,
    "fluid": case_fluid,
    "workflow": case_workflow,
}


def _digest(arrays):
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode() + str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    return h.hexdigest()


@pytest.mark.parametrize(
    "name", [n for n in CASES if n != "workflow"] + [pytest.param("workflow", marks=pytest.mark.slow)]
)
def test_bit_exact_against_recorded(name, tmp_path):
    got = {k: v for k, v in CASES[name](tmp_path).items() if not k.endswith(ADDED)}
    with np.load(FIXTURES / f"{name}.npz") as data:
        want = {k: data[k] for k in data.files}
    assert sorted(got) == sorted(want), f"{name}: keys differ"
    for key in sorted(want):
        g, w = np.asarray(got[key]), want[key]
        assert g.dtype == w.dtype and g.shape == w.shape, f"{name}/{key}: {g.dtype}{g.shape}"
        assert np.array_equal(g, w, equal_nan=g.dtype.kind == "f"), f"{name}/{key} differs"
    assert _digest(got) == _digest(want)


@pytest.mark.parametrize("threads", [2, 3])
def test_chains_do_not_depend_on_the_number_of_threads(threads):
    """The recorded runs again with more numba threads than the test workers get (conftest gives
    each its share of the cores): the cells' order of work changes, the chains must not."""
    names = [n for n in CASES if n not in ("workflow", "serial")]  # serial: no parallel loop
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    command = [sys.executable, __file__, "--digest", *names]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=True)
    got = dict(line.split() for line in out.stdout.splitlines() if line.strip())
    for name in names:
        with np.load(FIXTURES / f"{name}.npz") as data:
            assert got[name] == _digest({k: data[k] for k in data.files}), name
    assert got["threads"] == str(threads)


def _print_digests(names):
    import tempfile

    import numba

    print("threads", numba.get_num_threads())
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            arrays = CASES[name](Path(tmp))
        print(name, _digest({k: v for k, v in arrays.items() if not k.endswith(ADDED)}))


def _record():
    import tempfile

    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, case in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            arrays = case(Path(tmp))
        np.savez_compressed(FIXTURES / f"{name}.npz", **arrays)
        print(name, len(arrays), _digest(arrays))


if __name__ == "__main__" and "--record" in sys.argv:
    sys.path.insert(0, str(REPO))
    _record()
elif __name__ == "__main__" and "--digest" in sys.argv:
    _print_digests(sys.argv[sys.argv.index("--digest") + 1 :])
