"""Reproducibility, restarts, output files, initial states, devices and bad input."""

import json
import os
import subprocess
import sys
import textwrap

import gsd.hoomd
import numpy as np
import pytest
from support import DEVICES

import cubemc
from cubemc.trajectory import LOG_KEYS


def small_sim(seed=3, device="cpu", **kw):
    state = cubemc.State.simple_cubic(n=5, packing_fraction=0.8, vacancies=1, seed=1)
    return cubemc.Simulation(state, -1.0, 1.14, seed=seed, device=device, **kw)


def test_same_seed_same_trajectory_and_different_seed_differs():
    a, b, c = small_sim(), small_sim(), small_sim(seed=4)
    for sim in (a, b, c):
        sim.run(30)
    assert np.array_equal(a.positions, b.positions)
    assert np.array_equal(a.orientations, b.orientations)
    assert not np.array_equal(a.positions, c.positions)


@pytest.mark.parametrize("device", DEVICES)
def test_restart_is_bit_for_bit(tmp_path, device):
    """2k sweeps == k sweeps + checkpoint + restart + k sweeps, including the trajectory."""
    k = 60
    straight = small_sim(device=device)
    straight.tune(40)
    straight.run(2 * k, trajectory=tmp_path / "a.gsd", period=20)

    first = small_sim(device=device)
    first.tune(40)
    first.run(k, trajectory=tmp_path / "b.gsd", period=20, checkpoint=tmp_path / "c.npz")
    del first
    second = cubemc.Simulation.from_checkpoint(tmp_path / "c.npz", device=device)
    second.run(k, trajectory=tmp_path / "b.gsd", period=20, checkpoint=tmp_path / "c.npz")

    assert np.array_equal(straight.positions, second.positions)
    assert np.array_equal(straight.orientations, second.orientations)
    assert straight.bonds == second.bonds and straight.sweep == second.sweep
    assert straight.acceptance == second.acceptance
    with gsd.hoomd.open(tmp_path / "a.gsd") as ta, gsd.hoomd.open(tmp_path / "b.gsd") as tb:
        assert len(ta) == len(tb) == 2 * k // 20 + 1
        for fa, fb in zip(ta, tb):
            assert fa.configuration.step == fb.configuration.step
            assert np.array_equal(fa.particles.position, fb.particles.position)
            np.testing.assert_equal(fa.log, fb.log)  # NaN acceptance before any move


def test_resume_after_kill_drops_frames_newer_than_checkpoint(tmp_path):
    """A run killed after writing frames past its last checkpoint resumes without duplicates."""
    sim = small_sim()
    sim.run(40, trajectory=tmp_path / "t.gsd", period=10, checkpoint=tmp_path / "c.npz")
    sim.run(20, trajectory=tmp_path / "t.gsd", period=10)  # frames 50, 60 but no checkpoint
    resumed = cubemc.Simulation.from_checkpoint(tmp_path / "c.npz")
    assert resumed.sweep == 40
    resumed.run(20, trajectory=tmp_path / "t.gsd", period=10)
    with gsd.hoomd.open(tmp_path / "t.gsd") as traj:
        steps = [int(f.configuration.step) for f in traj]
        assert steps == [0, 10, 20, 30, 40, 50, 60]
        assert np.array_equal(traj[-1].particles.position, resumed.positions.astype(np.float32))


def test_killed_process_resumes_exactly(tmp_path):
    """kill -9 in the middle of a run: the checkpoint is intact and the resumed run is exact."""
    script = textwrap.dedent(f"""
        import os, signal, cubemc
        st = cubemc.State.simple_cubic(n=5, packing_fraction=0.8, vacancies=1, seed=1)
        sim = cubemc.Simulation(st, -1.0, 1.14, seed=3, device="cpu")
        sim.run(50, trajectory=r"{tmp_path / "k.gsd"}", period=10,
                checkpoint=r"{tmp_path / "k.npz"}", checkpoint_period=20)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -9
    sim = cubemc.Simulation.from_checkpoint(tmp_path / "k.npz")
    assert sim.sweep == 50
    sim.run(30, trajectory=tmp_path / "k.gsd", period=10)
    ref = small_sim()
    ref.run(80)
    assert np.array_equal(sim.positions, ref.positions)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_cuda_simulator_gives_the_cpu_trajectory(tmp_path):
    """The CUDA kernels (run by numba's simulator) reproduce the CPU kernels for the same seed."""
    script = textwrap.dedent("""
        import json, sys, numpy as np, cubemc
        st = cubemc.State.simple_cubic(n=6, packing_fraction=0.5, vacancies=3, seed=2)
        out = {}
        for device in ("cpu", "gpu"):
            sim = cubemc.Simulation(st, -1.0, 1.14, seed=11, device=device,
                                    translate_size=0.2, rotate_size=0.2)
            trace = sim.run_trace(3)
            out[device] = dict(pos=sim.positions.tolist(), quat=sim.orientations.tolist(),
                               trace=trace.tolist(), acc=sim.acceptance, device=sim.device)
        json.dump(out, sys.stdout)
    """)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["gpu"]["device"] == "gpu"
    assert out["cpu"]["trace"] == out["gpu"]["trace"]
    assert out["cpu"]["acc"] == out["gpu"]["acc"]
    np.testing.assert_allclose(out["cpu"]["pos"], out["gpu"]["pos"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["cpu"]["quat"], out["gpu"]["quat"], rtol=0, atol=1e-12)
    # the run moved cubes: the comparison is not between two untouched lattices
    st = cubemc.State.simple_cubic(n=6, packing_fraction=0.5, vacancies=3, seed=2)
    assert np.abs(np.array(out["cpu"]["pos"]) - st.positions).max() > 0.05


def test_trajectory_frames_are_complete_gsd(tmp_path):
    sim = small_sim()
    sim.tune(20)
    sim.run(40, trajectory=tmp_path / "t.gsd", period=20)
    with gsd.hoomd.open(tmp_path / "t.gsd") as traj:
        assert len(traj) == 3
        frame = traj[-1]
        frame.validate()
        assert frame.particles.N == sim.N
        assert frame.configuration.box[:3] == pytest.approx(sim.box)
        shape = frame.particles.type_shapes[0]
        assert shape["type"] == "ConvexPolyhedron" and len(shape["vertices"]) == 8
        np.testing.assert_allclose(frame.particles.orientation, sim.orientations, atol=1e-6)
    logs = gsd.hoomd.read_log(tmp_path / "t.gsd")
    for key in LOG_KEYS:
        assert logs[f"log/cubemc/{key}"].shape == (3,)
    assert logs["log/cubemc/sweep"].tolist() == [20, 40, 60]
    assert logs["log/cubemc/energy"][-1] == sim.energy
    assert logs["log/cubemc/translate_move_size"][-1] == sim.move_sizes["translate"]
    # a frame loads back as an input state
    loaded = cubemc.State.from_gsd(tmp_path / "t.gsd")
    np.testing.assert_allclose(loaded.positions, sim.positions, atol=1e-5)


def test_simple_cubic_lattice():
    st = cubemc.State.simple_cubic(n=10, packing_fraction=0.8, vacancies=1, seed=1)
    assert st.N == 999
    a = 0.8 ** (-1 / 3)
    assert st.box == pytest.approx([10 * a] * 3)
    bonds, overlaps = st.count_pairs(1.14)
    assert overlaps == 0
    assert bonds == 3 * 1000 - 6  # 3 bonds per cube, minus the 6 of the missing one
    st = cubemc.State.simple_cubic(n=4, packing_fraction=0.8, vacancy_sites=[0, 21])
    assert st.N == 62
    g = (np.arange(4) + 0.5) * 4**-1 * st.box[0] - st.box[0] / 2
    missing = {tuple(np.round([g[0], g[0], g[0]], 6)), tuple(np.round([g[1], g[1], g[1]], 6))}
    present = {tuple(p) for p in np.round(st.positions, 6)}
    assert not missing & present


def test_fluid_is_compressed_without_overlaps():
    st = cubemc.State.fluid(n_particles=100, packing_fraction=0.4, seed=3)
    assert st.N == 100
    assert st.packing_fraction == pytest.approx(0.4)
    assert st.count_pairs()[1] == 0
    # orientations are random, not the aligned lattice
    assert np.abs(st.orientations[:, 0]).mean() < 0.9


def test_fluid_that_cannot_be_reached_is_a_clear_error():
    with pytest.raises(cubemc.InputError, match="could not compress"):
        cubemc.State.fluid(n_particles=64, packing_fraction=0.9, seed=1, max_sweeps=50)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n=5, packing_fraction=1.0), "between 0 and 1"),
        (dict(n=5, packing_fraction=0.0), "between 0 and 1"),
        (dict(n=5, packing_fraction=float("nan")), "finite"),
        (dict(n=3, packing_fraction=0.8), "too small|smaller than the minimum"),
        (dict(n=0, packing_fraction=0.8), "positive integer"),
        (dict(n=4, packing_fraction=0.8, vacancies=64), "cannot remove"),
        (dict(n=4, packing_fraction=0.8, vacancies=-1), "non-negative"),
        (dict(n=4, packing_fraction=0.8, vacancy_sites=[70]), "must lie in"),
    ],
)
def test_bad_lattice_parameters(kwargs, match):
    with pytest.raises(cubemc.InputError, match=match):
        cubemc.State.simple_cubic(**kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(beta_epsilon=float("nan")), "finite"),
        (dict(beta_epsilon=-1, well_range=-1.0), "positive"),
        (dict(beta_epsilon=-1, well_range=float("inf")), "finite"),
        (dict(beta_epsilon=-1, seed=-3), "non-negative"),
        (dict(beta_epsilon=-1, translate_size=0), "positive"),
        (dict(beta_epsilon=-1, schedule="random"), "unknown schedule"),
        (dict(beta_epsilon=-1, well_range=3.0), "too small"),  # box 5.4 < 2 * 3
    ],
)
def test_bad_simulation_parameters(kwargs, match):
    st = cubemc.State.simple_cubic(n=5, packing_fraction=0.8)
    with pytest.raises(cubemc.InputError, match=match):
        cubemc.Simulation(st, **kwargs)


def test_unreachable_well_warns():
    st = cubemc.State.simple_cubic(n=5, packing_fraction=0.8)
    with pytest.warns(UserWarning, match="never be reached"):
        cubemc.Simulation(st, -1.0, well_range=0.9)


def test_devices():
    st = cubemc.State.simple_cubic(n=5, packing_fraction=0.8)
    with pytest.raises(cubemc.DeviceError, match="unknown device"):
        cubemc.Simulation(st, -1.0, device="tpu")
    from support import gpu_available

    if not gpu_available():
        with pytest.raises(cubemc.DeviceError, match="no usable CUDA device|cannot be used"):
            cubemc.Simulation(st, -1.0, device="gpu")
        assert cubemc.Simulation(st, -1.0, device="auto").device == "cpu"


def test_overlapping_input_is_refused(tmp_path):
    with pytest.raises(cubemc.OverlapError, match="cubes 0 and 1"):
        cubemc.State([[0, 0, 0], [0.9, 0, 0]], [[1, 0, 0, 0]] * 2, [4, 4, 4])
    # a GSD frame with an overlap: refused, and the file is left as it was
    sim = small_sim()
    sim.run(0, trajectory=tmp_path / "t.gsd", period=1)
    with gsd.hoomd.open(tmp_path / "t.gsd", "r") as traj:
        frame = traj[0]
    frame.particles.position[1] = frame.particles.position[0] + np.float32(0.5)
    with gsd.hoomd.open(tmp_path / "bad.gsd", "w") as traj:
        traj.append(frame)
    before = (tmp_path / "bad.gsd").read_bytes()
    with pytest.raises(cubemc.OverlapError):
        cubemc.State.from_gsd(tmp_path / "bad.gsd")
    assert (tmp_path / "bad.gsd").read_bytes() == before
    with pytest.raises(cubemc.InputError, match="no such GSD"):
        cubemc.State.from_gsd(tmp_path / "missing.gsd")


def test_cli_runs_and_rejects_bad_input(tmp_path):
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "cubemc",
            "--lattice",
            "4",
            "--packing-fraction",
            "0.7",
            "--tune-sweeps",
            "10",
            "--sweeps",
            "20",
            "--period",
            "10",
            "--device",
            "cpu",
            "--trajectory",
            str(tmp_path / "t.gsd"),
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "sweep 30" in ok.stdout
    assert len(gsd.hoomd.read_log(tmp_path / "t.gsd")["log/cubemc/sweep"]) == 3
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "cubemc",
            "--lattice",
            "4",
            "--packing-fraction",
            "1.5",
            "--trajectory",
            str(tmp_path / "u.gsd"),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "--packing-fraction" in bad.stderr
    assert not (tmp_path / "u.gsd").exists()
    helped = subprocess.run([sys.executable, "-m", "cubemc", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "--beta-epsilon" in helped.stdout
