"""device="auto": the GPU only where it is measured to be faster (cubemc/devices.py).

The rule is checked with a stand-in for the GPU probe, so it runs on machines without a GPU."""

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
