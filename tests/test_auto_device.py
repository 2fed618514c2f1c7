"""device="auto": the GPU only where it is measured to be faster (cubemc/devices.py).

The rule is checked with a stand-in for the GPU probe, so it runs on machines without a GPU."""

import dataclasses

import pytest

import cubemc
from cubemc import devices
from cubemc.devices import AUTO_GPU_MIN_CUBES, resolve_device


def _probe(usable):
    return lambda: (usable, "" if usable else "numba-cuda found no usable CUDA device")


def _never():
    raise AssertionError("the GPU probe was asked although the answer could not depend on it")


def test_auto_takes_the_gpu_only_for_large_systems():
    gpu = _probe(True)
    assert resolve_device("auto", 999, gpu) == "cpu"
    assert resolve_device("auto", AUTO_GPU_MIN_CUBES - 1, _never) == "cpu"
    assert resolve_device("auto", AUTO_GPU_MIN_CUBES, gpu) == "gpu"
    assert resolve_device("auto", 10**6, _probe(False)) == "cpu"
    assert resolve_device("gpu", 999, gpu) == "gpu"  # asked for: always the GPU
    assert resolve_device("cpu", 10**6, _never) == "cpu"
    with pytest.raises(cubemc.DeviceError, match="no usable CUDA device"):
        resolve_device("gpu", 10**6, _probe(False))


def test_a_batch_of_auto_simulations_decides_on_all_its_cubes(monkeypatch):
    monkeypatch.setattr(devices, "gpu_usable", _probe(True))
    state = cubemc.State.simple_cubic(n=10, packing_fraction=0.5)  # 1000 cubes
    count = -(-AUTO_GPU_MIN_CUBES // state.N)
    sims = [cubemc.Simulation(state, -1.0, seed=s, device="auto") for s in range(count)]
    assert {s.device for s in sims} == {"cpu"}  # each alone is too small for the GPU
    batch = cubemc.SimulationBatch(sims)  # together they fill it (nothing runs here)
    assert batch.device == "gpu" and {s.device for s in sims} == {"gpu"}
    small = cubemc.SimulationBatch([cubemc.Simulation(state, -1.0, seed=s) for s in range(count - 1)])
    assert small.device == "cpu"
    mixed = [cubemc.Simulation(state, -1.0, seed=s, device="cpu") for s in range(count)]
    assert cubemc.SimulationBatch(mixed).device == "cpu"  # an explicit device is kept


def test_auto_with_the_serial_schedule_is_the_cpu(monkeypatch):
    monkeypatch.setattr(devices, "gpu_usable", _probe(True))
    state = cubemc.State.simple_cubic(n=28, packing_fraction=0.5)  # 21 952 cubes: GPU-sized
    assert state.N >= AUTO_GPU_MIN_CUBES
    assert cubemc.Simulation(state, -1.0, schedule="serial").device == "cpu"  # serial is CPU-only
    with pytest.raises(cubemc.DeviceError, match="serial schedule runs on the CPU only"):
        cubemc.Simulation(state, -1.0, schedule="serial", device="gpu")


def test_a_refused_batch_leaves_its_simulations_as_they_were(monkeypatch):
    monkeypatch.setattr(devices, "gpu_usable", _probe(True))
    state = cubemc.State.simple_cubic(n=10, packing_fraction=0.5)
    count = -(-AUTO_GPU_MIN_CUBES // state.N)
    sims = [cubemc.Simulation(state, -1.0, seed=s) for s in range(count - 1)]
    sims.append(cubemc.Simulation(state, -1.0, seed=count, gpu_variant="tile:8"))
    with pytest.raises(cubemc.InputError, match="same gpu_variant"):
        cubemc.SimulationBatch(sims)
    assert {s.device for s in sims} == {"cpu"}  # still runnable on their own, as before


def test_gpu_bundles_too_small_for_the_gpu_say_so_once(tiny_project, capsys, monkeypatch):
    """The *_gpu operations run what they are given on the GPU; below the crossover the log says
    so (the jobs here are not created, so nothing runs; a stand-in says a GPU is usable)."""
    import signac

    from cubemc.workflow import stages
    from cubemc.workflow.config import load_config

    project_dir = tiny_project("hint", "--beta-epsilon", "0", "-1")
    jobs = list(signac.get_project(project_dir))
    config = load_config(str(project_dir), environ={})
    n = jobs[0].cached_statepoint["N"]
    monkeypatch.setattr(devices, "gpu_usable", _probe(True))
    assert stages.run_stage_group(jobs, "equilibrate", config, "gpu") is False
    assert stages.run_stage_group(jobs, "sample", config, "gpu") is False
    hints = [line for line in capsys.readouterr().err.splitlines() if "hint:" in line]
    assert len(hints) == 2, hints
    assert f"at most {n} cubes per kernel launch" in hints[0]  # equilibrated one job at a time
    assert f"at most {2 * n} cubes per kernel launch" in hints[1]  # sampled as one batch
    stages.run_stage_group(jobs, "equilibrate", config, "cpu")
    assert "hint:" not in capsys.readouterr().err
    assert devices.small_gpu_hint(AUTO_GPU_MIN_CUBES) is None
    assert "CPU operations" in devices.small_gpu_hint(AUTO_GPU_MIN_CUBES - 1)
    hoomd = dataclasses.replace(config, engine="hoomd")  # HOOMD's GPU crossover is not ours
    stages.run_stage_group(jobs, "equilibrate", hoomd, "gpu")
    assert "hint:" not in capsys.readouterr().err
    monkeypatch.setattr(devices, "gpu_usable", _probe(False))  # the run's DeviceError says it all
    stages.run_stage_group(jobs, "equilibrate", config, "gpu")
    assert "hint:" not in capsys.readouterr().err
