"""device="auto": the GPU only where it is measured to be faster (cubemc/devices.py).

The rule is checked with a stand-in for the GPU probe, and the workflow's small-GPU hint under
numba's CUDA simulator, so both run on machines without a GPU."""

import pytest
from support import run_on_cuda_simulator

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


HINT_SCRIPT = """
import contextlib, dataclasses, io, json, sys, time
import signac
from cubemc.workflow import stages
from cubemc.workflow.config import load_config

project = signac.get_project(%r)
jobs = sorted(project, key=lambda job: (job.sp["N"], job.sp["beta_epsilon"]))
small, large = jobs[:2], jobs[2:]
config = dataclasses.replace(load_config(project.path, environ={}), deadline=time.time() - 1)
hints = {}
for name, group, stage in [
    ("equilibrate", jobs, "equilibrate"),  # the two created jobs, one launch each
    ("batch", large, "sample"),  # one batch: both jobs in each launch
    ("refused batch", jobs, "sample"),  # half not equilibrated: one job at a time
    ("nothing to run", large, "equilibrate"),
]:
    with contextlib.redirect_stderr(io.StringIO()) as err:
        stages.run_stage_group(group, stage, config, "gpu")  # the deadline has passed: no sweeps
    hints[name] = [line for line in err.getvalue().splitlines() if "hint:" in line]
json.dump(dict(hints=hints, small=small[0].sp["N"], large=large[0].sp["N"]), sys.stdout)
"""


def test_gpu_bundles_too_small_for_the_gpu_say_so_once(tiny_project):
    """The *_gpu operations run what they are given on the GPU; below the crossover the log says
    so once, with the cubes of one kernel launch: the batch's sum when the jobs are sampled as
    one batch, the largest job when they run one after another (numba's CUDA simulator)."""
    import signac

    from cubemc.workflow import stages
    from cubemc.workflow.config import load_config

    project_dir = tiny_project("hint", "--n-lattice", "4", "5", "--beta-epsilon", "0", "-1")
    project = signac.get_project(project_dir)
    config = load_config(str(project_dir), environ={})
    for job in project:
        stages.run_stage(job, "create", config, "cpu")
    larger = [job for job in project if job.sp["n_lattice"] == 5]
    assert stages.run_stage_group(larger, "equilibrate", config, "cpu")
    out = run_on_cuda_simulator(HINT_SCRIPT % str(project_dir))
    hints, small, large = out["hints"], out["small"], out["large"]  # cubes per job
    assert all(len(lines) == 1 for name, lines in hints.items() if name != "nothing to run"), hints
    assert f"at most {small} cubes per kernel launch" in hints["equilibrate"][0]
    assert f"at most {2 * large} cubes per kernel launch" in hints["batch"][0]
    assert f"at most {large} cubes per kernel launch" in hints["refused batch"][0]
    assert hints["nothing to run"] == []


def test_the_small_gpu_hint_is_for_the_native_engine_on_a_usable_gpu(monkeypatch):
    monkeypatch.setattr(devices, "gpu_usable", _probe(True))
    assert devices.small_gpu_hint(AUTO_GPU_MIN_CUBES) is None
    assert "CPU operations" in devices.small_gpu_hint(AUTO_GPU_MIN_CUBES - 1)
    assert devices.small_gpu_hint(10, "cpu") is None
    assert devices.small_gpu_hint(10, "gpu", "hoomd") is None  # HOOMD's GPU crossover is not ours
    monkeypatch.setattr(devices, "gpu_usable", _probe(False))  # the run's DeviceError says it all
    assert devices.small_gpu_hint(10) is None
