"""One command on a machine with an NVIDIA GPU: the GPU tests, the speed of every CUDA kernel
variant, the same machine's CPU figure and the machine itself, in one JSON file.

    python benchmarks/gpu_check.py OUTDIR --timeout 420       # GPU machine (H200): < 8 minutes
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/gpu_check.py --smoke OUTDIR   # CI, no GPU: seconds
    python benchmarks/gpu_check.py OUTDIR --ncu fused:8       # + Nsight Compute, a few launches

OUTDIR receives gpu_check.json (rewritten after every step and every measured point, so a run cut
short still leaves everything measured so far), gpu_check.log (the output of every subprocess),
pytest-fast.xml and pytest-slow.xml (JUnit) and, with --ncu, ncu-<variant>.ncu-rep/.csv: at most
six files, within what the device tool brings back.

Steps, in this order (each records its error and the next one still runs):
1. the machine: GPU model, memory, compute capability, driver and CUDA versions, CPU model, cores,
   package versions, a hash of the kernel sources;
2. `pytest -m "gpu and not slow"` on the test files that hold GPU tests (a subprocess with a time
   limit; JUnit XML parsed, or the -v lines if it was cut short);
3. a worker process measures trial moves per second (a trial move = one proposed translation or
   rotation; compile time excluded): every variant at N = 999 999, 128 batched systems of 999,
   the all-core CPU at 63 999 and 999 999, every variant at 63 999, 7 999 and 999, then at
   7 999 999 if time is left.  State: simple-cubic crystal with one vacancy at phi = 0.80,
   beta*eps = -1, lambda = 1.14; move sizes tuned briefly once (N = 7 999) and used everywhere;
   each point timed for at least 0.6 s (the CPU points 3 s: a CPU sweep of 10^6 takes ~0.2 s).
   A worker that dies (a kernel fault poisons the CUDA context) is restarted without the variant
   that killed it;
4. with --vmmc: the VMMC cluster moves on the GPU (one thread or a block of 32 per system,
   batches of 1 to 128 systems of 1000 cubes) against one CPU core
   (benchmarks/bench_gpu_vmmc.py); with --ncu
   VARIANT: Nsight Compute on a few update launches of that variant;
5. `pytest -m "gpu and slow"` (statistical tests) with the time that is left.
Finally a summary: the fastest variant per N, GPU against CPU at N = 999 999, the batch, and the
targets of issue 15 (1e9 trial moves/s at N = 1e6, 3e8 for 128 x 1000, 30x the CPU).

Missing packages on the GPU machine: it has numba and numba-cuda but not gsd, signac or freud,
and no network.  cubemc itself comes from this working tree (this script puts the repository on
sys.path and PYTHONPATH).  `import cubemc` needs gsd (cubemc/trajectory.py imports it at module
level), so gsd travels as a wheel: here, `pip download gsd --no-deps --only-binary=:all:
--python-version 3.12 --platform manylinux2014_x86_64 -d .whl` into an ignored folder that the
device call carries; this script installs every wheel of --wheels (default .whl) into a temporary
folder when gsd cannot be imported.  Without a wheel it puts a stub `gsd` on the path (recorded in
the JSON): the measurements need no GSD files, and the tests that write trajectories fail with a
message naming the stub.  Tests needing signac or freud are reported as collection errors.
docs/gpu.md has the exact device command.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCHEMA = "cubemc-gpu-check/1"
#: kernel layouts measured (cubemc/gpu.py: "layout[:lanes][/registers]")
VARIANTS = [
    "cell",
    "tile:8",
    "tile:32",
    "fused:1",
    "fused:4",
    "fused:8",
    "fused:16",
    "fused:32",
    "fused:1/128",
    "fused:8/128",
    "fused:8/64",
]
PHI, BETA_EPS, WELL = 0.80, -1.0, 1.14
#: seconds the measuring step leaves for --vmmc (at most 40 % of what is left)
VMMC_RESERVE = 150.0
#: lattice edges n (N = n^3 - 1) and time per point, for the real check and for --smoke
FULL = dict(
    large=100,
    batch=(128, 10),
    cpu=(40, 100),
    small=(40, 20, 10),
    huge=200,
    tune=20,
    tune_sweeps=60,
    seconds=0.6,
    cpu_seconds=3.0,  # a CPU sweep of 10^6 cubes takes ~0.2 s: 0.6 s timed 3 sweeps, +-30 %
    variants=VARIANTS,
)
#: --smoke: one point per kind, every layout once (the CUDA simulator runs ~1 sweep/s at N = 63)
SMOKE = dict(
    large=4,
    batch=(2, 4),
    cpu=(4, 5),
    small=(),
    huge=None,
    tune=4,
    tune_sweeps=10,
    seconds=0.0,
    cpu_seconds=0.0,
    variants=["cell", "tile:4", "fused:2/128"],
)
#: seconds a point may take besides its timed part (state, upload, warm-up), by lattice edge
OVERHEAD = {4: 3, 5: 3, 10: 3, 20: 3, 40: 4, 100: 8, 200: 40}
STUB_NOTE = "gsd is not installed on this machine (stub module from benchmarks/gpu_check.py)"


# ---------------------------------------------------------------------- the JSON report
class Report:
    """The JSON document, rewritten atomically whenever something was added."""

    def __init__(self, path, data):
        self.path, self.data = Path(path), data
        self._lock = threading.Lock()
        self.save()

    def save(self):
        with self._lock:
            text = json.dumps(self.data, indent=1, default=str)
            tmp = self.path.with_suffix(".json.tmp")
            tmp.write_text(text)
            os.replace(tmp, self.path)

    @contextlib.contextmanager
    def step(self, name):
        """Record a step's duration and, instead of raising, its error; then save."""
        entry = self.data["steps"].setdefault(name, {})
        entry.update(started=_now(), ok=None)
        self.save()
        start = time.monotonic()
        try:
            yield entry
            entry["ok"] = entry.get("ok", True) is not False
        except Exception as err:  # a failing step must not stop the others
            entry.update(
                ok=False, error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc()[-3000:]
            )
        finally:
            entry["seconds"] = round(time.monotonic() - start, 2)
            self.save()


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class Clock:
    """The overall time limit: what is left, and budgets for the steps."""

    def __init__(self, limit):
        self.end = time.monotonic() + limit

    def left(self):
        return self.end - time.monotonic()


# ---------------------------------------------------------------------- environment
def prepare_imports(wheels, workdir, log):
    """Make `import cubemc` work: the repository on the path; gsd from wheels or a stub.

    Returns (facts for the JSON, extra folders for PYTHONPATH of the subprocesses)."""
    sys.path.insert(0, str(REPO))
    paths = [str(REPO)]
    facts = {}
    if not _importable("gsd.hoomd"):
        found = sorted(Path(wheels).glob("*.whl")) if wheels else []
        if found:
            site = workdir / "site"
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-index",
                "--no-deps",
                "--no-compile",
                "--target",
                str(site),
                *map(str, found),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            log.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n")
            sys.path.insert(0, str(site))
            paths.insert(0, str(site))
            facts["wheels_installed"] = [p.name for p in found]
        if not _importable("gsd.hoomd"):
            stub = workdir / "gsd_stub"
            _write_gsd_stub(stub)
            sys.path.insert(0, str(stub))
            paths.insert(0, str(stub))
            facts["gsd_stub"] = STUB_NOTE
    for name in ("gsd", "signac", "freud", "scipy", "pytest_timeout"):
        facts[name] = _version(name)
    return facts, paths


def _importable(module):
    import importlib

    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False


def _write_gsd_stub(folder):
    pkg = folder / "gsd"
    pkg.mkdir(parents=True, exist_ok=True)
    body = (
        f'"""{STUB_NOTE}."""\n\n\ndef __getattr__(name):\n'
        f'    raise ImportError("{STUB_NOTE}; carry a gsd wheel (docs/gpu.md)")\n'
    )
    (pkg / "__init__.py").write_text(body)
    (pkg / "hoomd.py").write_text(body)


def _version(name):
    from importlib import metadata

    dist = {"pytest_timeout": "pytest-timeout", "freud": "freud-analysis"}.get(name, name)
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def child_env(paths):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(paths + [env["PYTHONPATH"]] if env.get("PYTHONPATH") else paths)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def machine_facts():
    """CPU, memory, Python packages, nvidia-smi and a hash of the kernel sources."""
    facts = dict(
        host=platform.node(),
        python=platform.python_version(),
        cpu_model=_cpu_model(),
        cores=os.cpu_count(),
        cores_usable=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        memory_gib=_memory_gib(),
        numba=_version("numba"),
        numba_cuda=_version("numba-cuda"),
        numpy=_version("numpy"),
        cudasim=os.environ.get("NUMBA_ENABLE_CUDASIM") == "1",
    )
    facts["kernel_sources_sha256"] = _sources_hash()
    facts["git_commit"] = _run_text(["git", "-C", str(REPO), "rev-parse", "HEAD"])
    smi = shutil.which("nvidia-smi")
    if smi:
        query = "name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit"
        facts["nvidia_smi"] = _run_text([smi, f"--query-gpu={query}", "--format=csv,noheader"])
        header = _run_text([smi]) or ""
        found = re.search(r"CUDA Version:\s*([\d.]+)", header)
        facts["driver_cuda_version"] = found.group(1) if found else None
    return facts


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib():
    try:
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        return round(kib / 2**20, 1)
    except (OSError, IndexError, ValueError):
        return None


def _sources_hash():
    digest = hashlib.sha256()
    for name in (
        "gpu.py",
        "kernels.py",
        "kernel_basics.py",
        "cpu.py",
        "shapes/cube.py",
        "pairs/square_well.py",
    ):
        path = REPO / "cubemc" / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _run_text(cmd, timeout=20):
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


# ---------------------------------------------------------------------- subprocesses
def stream(cmd, budget, env, log, on_line=None):
    """Run cmd (its own process group) for at most `budget` seconds, copying its output to the log
    and to on_line; returns (return code or None if it was stopped, output lines)."""
    log.write(f"\n$ {' '.join(map(str, cmd))}   (limit {budget:.0f} s)\n")
    log.flush()
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = []

    def pump():
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            log.write(line)
            log.flush()
            if on_line is not None:
                on_line(line.rstrip("\n"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=max(1.0, budget))
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        reader.join(5)
        log.write(f"[stopped after {budget:.0f} s]\n")
        return None, lines
    reader.join(5)
    return proc.returncode, lines


# ---------------------------------------------------------------------- VMMC
def run_vmmc(smoke, budget, env, log):
    """The points of benchmarks/bench_gpu_vmmc.py (one JSON line each), as many as fit."""
    cmd = [sys.executable, str(REPO / "benchmarks" / "bench_gpu_vmmc.py")] + (["--smoke"] if smoke else [])
    code, lines = stream(cmd, budget, env, log)
    points = [json.loads(line) for line in lines if line.startswith("{")]
    if code != 0 and not points:
        raise RuntimeError(f"bench_gpu_vmmc.py ended with {code}: {' | '.join(lines[-3:])[:300]}")
    return dict(returncode=code, points=points)


# ---------------------------------------------------------------------- pytest
def gpu_test_files():
    """The test files that hold GPU tests (the device parametrisation or the gpu mark)."""
    files = []
    for path in sorted((REPO / "tests").glob("test_*.py")):
        text = path.read_text(errors="replace")
        if path.name != "test_gpu_check.py" and ("DEVICES" in text or "mark.gpu" in text):
            files.append(str(path.relative_to(REPO)))
    return files


def run_pytest(marker, budget, xml, env, log):
    files = gpu_test_files()
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-m",
        marker,
        "-v",
        "-rA",
        "-p",
        "no:cacheprovider",
        "--continue-on-collection-errors",
        f"--junitxml={xml}",
        *files,
    ]
    if _version("pytest_timeout"):
        cmd.insert(5, f"--timeout={int(max(60, budget * 0.6))}")
    start = time.monotonic()
    with contextlib.suppress(FileNotFoundError):
        Path(xml).unlink()
    rc, lines = stream(cmd, budget, env, log)
    result = dict(
        marker=marker,
        files=files,
        returncode=rc,
        timed_out=rc is None,
        seconds=round(time.monotonic() - start, 1),
    )
    tests = _junit_tests(xml) if rc is not None and Path(xml).exists() else _verbose_tests(lines)
    result["tests"] = tests
    result["counts"] = {
        k: sum(t["outcome"] == k for t in tests) for k in ("passed", "failed", "error", "skipped")
    }
    result["needs_gsd"] = [t["name"] for t in tests if STUB_NOTE in t.get("message", "")]
    result["tail"] = lines[-15:]
    return result


def _junit_tests(xml):
    tests = []
    for case in ET.parse(xml).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
                message = (node.get("message") or "") + "\n" + (node.text or "")[-1500:]
                break
        tests.append(
            dict(
                name=name,
                outcome=outcome,
                seconds=float(case.get("time", 0) or 0),
                message=message.strip()[:2000],
            )
        )
    return tests


def _verbose_tests(lines):
    """Outcomes from `pytest -v` lines when no JUnit file was written (the run was stopped)."""
    tests = []
    for line in lines:
        found = re.match(r"^(\S+::\S+)\s+(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)", line)
        if found:
            outcome = found.group(2).lower().replace("xfail", "skipped").replace("xpass", "passed")
            tests.append(dict(name=found.group(1), outcome=outcome, seconds=None, message=""))
    return tests


# ---------------------------------------------------------------------- the measuring worker
def plan_points(cfg, variants):
    """The measured points, most wanted first (the targets of issue 15 come first)."""
    pts = [dict(kind="gpu", n=cfg["large"], variant=v) for v in variants]
    pts += [dict(kind="batch", n=cfg["batch"][1], systems=cfg["batch"][0], variant=v) for v in variants]
    pts += [dict(kind="cpu", n=n, variant=None) for n in cfg["cpu"]]
    pts += [dict(kind="gpu", n=n, variant=v) for n in cfg["small"] for v in variants]
    if cfg["huge"]:
        pts += [dict(kind="gpu", n=cfg["huge"], variant=v) for v in variants]
    for k, p in enumerate(pts):
        p["id"] = k
    return pts


def run_worker_steps(rep, cfg, variants, clock, env, log, reserve=0.0):  # noqa: PLR0913
    """Measure every point in worker processes, leaving `reserve` seconds for later steps; a
    worker that dies is replaced, and the variant it was running is dropped."""
    todo = plan_points(cfg, variants)
    rep.data["points"] = []
    restarts = 0
    while todo and clock.left() - reserve > 15 and restarts < 4:
        left = clock.left() - reserve
        spec = dict(points=todo, tune=rep.data.get("tuning"), cfg=cfg, deadline=time.time() + left - 10)
        spec_path = Path(rep.path).with_name("worker-plan.json.tmp")
        spec_path.write_text(json.dumps(spec))
        state = {"current": None}

        def on_line(line, state=state):
            try:
                _worker_message(line, rep, state, todo)
            except Exception as err:  # a garbled line must not stop the output pump
                rep.data.setdefault("worker_garbled", []).append(f"{err}: {line[:300]}")

        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(spec_path)]
        rc, lines = stream(cmd, left - 5, env, log, on_line)
        spec_path.unlink(missing_ok=True)
        if rc == 0 or rc is None:
            break
        restarts += 1
        dead = state["current"]
        rep.data.setdefault("worker_restarts", []).append(dict(returncode=rc, point=dead, tail=lines[-20:]))
        if dead is not None:  # the variant that killed the worker is not run again
            _record(rep, dict(dead, error=f"worker died (return code {rc})"), todo)
            todo[:] = [p for p in todo if p["variant"] != dead["variant"] or p["kind"] == "cpu"]
        rep.save()
    for p in todo:
        _record(rep, dict(p, skipped="no time left or the worker stopped"), todo)


def _worker_message(line, rep, state, todo):
    if not line.startswith("@@"):
        return
    tag, _, body = line.partition(" ")
    data = json.loads(body)
    if tag == "@@GPU":
        rep.data["machine"]["gpu"] = data
    elif tag == "@@TUNE":
        rep.data["tuning"] = data
    elif tag == "@@START":
        state["current"] = data
        print(f"  measuring {_label(data)}", flush=True)
    elif tag == "@@POINT":
        state["current"] = None
        _record(rep, data, todo)
    rep.save()


def _record(rep, point, todo):
    rep.data["points"].append(point)
    todo[:] = [p for p in todo if p["id"] != point["id"]]
    if point.get("trial_moves_per_second"):
        print(f"  {_label(point):<34} {point['trial_moves_per_second']:10.3e} trial moves/s", flush=True)
    elif point.get("error") or point.get("skipped"):
        print(f"  {_label(point):<34} {point.get('error') or point.get('skipped')}", flush=True)


def _label(p):
    n = p["n"] ** 3 - 1
    what = {"gpu": f"gpu {p['variant']}", "cpu": "cpu", "batch": f"batch {p.get('systems')}x {p['variant']}"}[
        p["kind"]
    ]
    return f"{what} N={n}"


def worker(spec_path):
    """Measure the points of the plan; one line '@@TAG json' per result on stdout."""
    spec = json.loads(Path(spec_path).read_text())
    sys.path.insert(0, str(REPO))
    import warnings

    import cubemc  # noqa: F401  (first: it makes numba.cuda importable under NumPy 2.5)

    warnings.simplefilter("ignore")  # numba's performance warnings would drown the log
    cfg = spec["cfg"]
    _say("@@GPU", _gpu_facts())
    sizes = spec["tune"] or _say("@@TUNE", _tune(cfg["tune"], cfg["tune_sweeps"]))
    states = {}
    for point in spec["points"]:
        seconds = cfg["cpu_seconds"] if point["kind"] == "cpu" else cfg["seconds"]
        if time.time() + OVERHEAD.get(point["n"], 10) + seconds > spec["deadline"]:
            _say("@@POINT", dict(point, skipped="no time left"))
            continue
        _say("@@START", point)
        try:
            result = _measure(point, sizes, states, seconds, spec["deadline"])
            _say("@@POINT", dict(point, **result))
        except Exception as err:
            _say("@@POINT", dict(point, error=f"{type(err).__name__}: {err}"[:1500]))
            if point["kind"] != "cpu" and not _cuda_alive():
                sys.exit(3)  # the CUDA context is gone: the parent starts a fresh worker


def _say(tag, data):
    print(tag, json.dumps(data, default=str), flush=True)
    return data


def _gpu_facts():
    import numba
    from numba import cuda

    if numba.config.ENABLE_CUDASIM:
        return dict(name="CUDA simulator")
    facts = {}
    try:
        dev = cuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else dev.name
        facts.update(
            name=name,
            compute_capability=".".join(map(str, dev.compute_capability)),
            multiprocessors=dev.MULTIPROCESSOR_COUNT,
        )
        free, total = cuda.current_context().get_memory_info()
        facts.update(memory_gib=round(total / 2**30, 1), free_gib=round(free / 2**30, 1))
        facts["driver_api_version"] = ".".join(map(str, cuda.cudadrv.driver.driver.get_version()))
        facts["runtime_version"] = ".".join(map(str, cuda.runtime.get_version()))
    except Exception as err:  # partial facts are still facts
        facts["error"] = f"{type(err).__name__}: {err}"
    return facts


def _tune(n, sweeps):
    """Move sizes for 30 % acceptance, tuned briefly at N = n^3 - 1 (GPU "cell", else CPU)."""
    import cubemc

    state = cubemc.State.simple_cubic(n=n, packing_fraction=PHI, vacancies=1, seed=1)
    errors = []
    for device, variant in (("gpu", "cell"), ("cpu", "cell")):
        try:
            sim = cubemc.Simulation(state, BETA_EPS, WELL, seed=2, device=device, gpu_variant=variant)
            sim.tune(sweeps, period=max(1, sweeps // 6))
            sim.run(max(1, sweeps // 6))
            return dict(
                translate=sim.translate_size,
                rotate=sim.rotate_size,
                device=device,
                N=sim.N,
                acceptance=sim.acceptance,
                errors=errors,
            )
        except Exception as err:
            errors.append(f"{device}: {type(err).__name__}: {err}"[:500])
    return dict(translate=0.1, rotate=0.1, device=None, errors=errors)


def _measure(point, sizes, states, seconds, deadline):
    import cubemc

    n, kind = point["n"], point["kind"]
    systems = point.get("systems", 1)
    key = (n, systems)
    if key not in states:
        states.clear()  # one size at a time: 8e6 cubes take gigabytes
        states[key] = [
            cubemc.State.simple_cubic(n=n, packing_fraction=PHI, vacancies=1, seed=1 + b)
            for b in range(systems)
        ]
    device = "cpu" if kind == "cpu" else "gpu"
    sims = [
        cubemc.Simulation(
            st,
            BETA_EPS,
            WELL,
            seed=2 + b,
            device=device,
            translate_size=sizes["translate"],
            rotate_size=sizes["rotate"],
            gpu_variant=point["variant"] or "cell",
        )
        for b, st in enumerate(states[key])
    ]
    run = cubemc.SimulationBatch(sims).run if systems > 1 else sims[0].run
    start = time.perf_counter()
    run(1)  # compiles on first use; the trace copied back waits for the device
    compile_seconds = time.perf_counter() - start
    sweeps, elapsed = _timed(run, seconds, deadline)
    total = sum(s.N for s in sims)
    out = dict(
        N=sims[0].N,
        sweeps=sweeps,
        seconds=round(elapsed, 4),
        trial_moves_per_second=sweeps * total / elapsed,
        acceptance=sims[0].acceptance,
        first_call_seconds=round(compile_seconds, 2),
    )
    if device == "gpu":
        out["resources"] = _resources(point["variant"])
    if total <= 70000:  # the running energy against a recount, where a recount is quick
        out["books_ok"] = all(s.state.count_pairs(WELL) == (s.bonds, 0) for s in sims[:4])
    return out


def _timed(run, seconds, deadline):
    """(sweeps, elapsed) of one call that took at least `seconds` (a call grows at most 4x)."""
    sweeps = 1
    while True:
        start = time.perf_counter()
        run(sweeps)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds or time.time() + 4 * elapsed > deadline:
            return sweeps, elapsed
        sweeps = int(min(4 * sweeps, max(sweeps + 1, sweeps * 1.2 * seconds / max(elapsed, 1e-4))))


def _resources(variant):
    from cubemc import pairs, shapes, targets

    try:
        return targets.gpu(shapes.cube, pairs.square_well).resources(variant)
    except Exception as err:
        return {"error": f"{type(err).__name__}: {err}"}


def _cuda_alive():
    try:
        import numpy as np
        from numba import cuda

        return cuda.to_device(np.arange(4)).copy_to_host().sum() == 6
    except Exception:
        return False


# ---------------------------------------------------------------------- Nsight Compute
def find_ncu():
    found = shutil.which("ncu")
    if found:
        return found
    for pattern in (
        "/opt/nvidia/nsight-compute/*/ncu",
        "/usr/local/cuda*/bin/ncu",
        "/usr/local/cuda*/nsight-compute*/ncu",
    ):
        hits = sorted(Path("/").glob(pattern.lstrip("/")))
        if hits:
            return str(hits[-1])
    return None


def run_ncu(variant, n, launches, budget, out, env, log):
    """Profile `launches` update launches of `variant` at N = n^3 - 1 with Nsight Compute."""
    if budget < 30:
        raise RuntimeError(f"not run: {budget:.0f} s left")
    exe = find_ncu()
    if exe is None:
        raise RuntimeError("ncu (Nsight Compute) not found on PATH, /opt/nvidia or /usr/local/cuda")
    name = "ncu-" + re.sub(r"[^A-Za-z0-9_-]", "-", variant)
    report = out / f"{name}.ncu-rep"
    cmd = [
        exe,
        "--clock-control",
        "none",
        "--target-processes",
        "all",
        "--kernel-name",
        "regex:_update|_fused",
        "--launch-count",
        str(launches),
        "--set",
        "detailed",
        "-f",
        "-o",
        str(report.with_suffix("")),
        sys.executable,
        str(Path(__file__).resolve()),
        "--ncu-target",
        variant,
        "--ncu-size",
        str(n),
        str(out),
    ]
    rc, lines = stream(cmd, budget * 0.8, env, log)
    result = dict(variant=variant, N=n**3 - 1, returncode=rc, tail=lines[-10:])
    if report.exists():
        csv = _run_text([exe, "--import", str(report), "--csv", "--page", "details"], 120)
        (out / f"{name}.csv").write_text(csv or "")
        result["metrics"] = _ncu_metrics(csv or "")
    return result


def _ncu_metrics(csv_text):
    """{launch id: {section/metric: 'value unit'}} from `ncu --csv --page details`."""
    import csv
    import io

    metrics = {}
    for row in csv.DictReader(io.StringIO(csv_text)):
        launch = f"{row.get('ID')} {row.get('Kernel Name', '')[:60]}"
        key = f"{row.get('Section Name')}/{row.get('Metric Name')}"
        metrics.setdefault(launch, {})[key] = f"{row.get('Metric Value')} {row.get('Metric Unit')}"
    return metrics


def ncu_target(variant, n):
    """What runs under ncu: the variant's first sweeps (one fused launch per call)."""
    sys.path.insert(0, str(REPO))
    import cubemc

    state = cubemc.State.simple_cubic(n=n, packing_fraction=PHI, vacancies=1, seed=1)
    sim = cubemc.Simulation(
        state, BETA_EPS, WELL, seed=2, device="gpu", translate_size=0.08, rotate_size=0.1, gpu_variant=variant
    )
    for _ in range(3):
        sim.run(1)


# ---------------------------------------------------------------------- summary
def summarise(data):
    """Fastest variant per N, GPU/CPU at N = 999 999, the batch, and issue 15's targets."""
    best = {}
    for p in data.get("points", []):
        rate = p.get("trial_moves_per_second")
        if not rate:
            continue
        key = f"{p['kind']} N={p['N']}" + (f" x{p['systems']}" if p.get("systems", 1) > 1 else "")
        if rate > best.get(key, {}).get("trial_moves_per_second", 0):
            best[key] = dict(variant=p["variant"], trial_moves_per_second=rate)
    out = dict(best=best)
    gpu = best.get("gpu N=999999", {}).get("trial_moves_per_second")
    cpu = best.get("cpu N=999999", {}).get("trial_moves_per_second")
    batch = best.get("batch N=999 x128", {}).get("trial_moves_per_second")
    if gpu and cpu:
        out["gpu_over_cpu_at_1e6"] = gpu / cpu
    out["targets"] = dict(
        gpu_1e9_at_1e6=None if gpu is None else gpu >= 1e9,
        batch_3e8_for_128x1000=None if batch is None else batch >= 3e8,
        gpu_30x_cpu_at_1e6=None if not (gpu and cpu) else gpu / cpu >= 30,
    )
    return out


def print_summary(data):
    print("\n# gpu_check summary", flush=True)
    for name, step in data["steps"].items():
        print(
            f"  step {name:<12} ok={step.get('ok')} {step.get('seconds', '')} s {step.get('error', '')[:150]}"
        )
    for name in ("pytest_fast", "pytest_slow"):
        if name in data:
            print(f"  {name}: {data[name].get('counts')} timed_out={data[name].get('timed_out')}")
    for key, row in data.get("summary", {}).get("best", {}).items():
        print(f"  best {key:<22} {row['trial_moves_per_second']:10.3e}  ({row['variant']})")
    for p in data.get("vmmc", {}).get("points", []):
        print(
            f"  vmmc {p['state']:<7} {p['device']} lanes {p.get('lanes', '-')!s:<3} x{p['systems']:<4} "
            f"{p['moves_per_s']:10.3e} moves/s"
            + (f"  ({p['gpu_vmmc_vs_cpu_core']:.2f} CPU cores)" if "gpu_vmmc_vs_cpu_core" in p else "")
        )
    for key, value in data.get("summary", {}).items():
        if key != "best":
            print(f"  {key}: {value}")
    print(f"  status: {data['status']}", flush=True)


# ---------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("outdir", type=Path, help="folder for gpu_check.json and the logs")
    p.add_argument(
        "--timeout",
        type=float,
        default=420.0,
        help="seconds for everything (default 420); steps shrink to fit",
    )
    p.add_argument("--smoke", action="store_true", help="tiny systems: the same path in seconds")
    p.add_argument(
        "--variants",
        nargs="+",
        default=None,
        help=f"gpu_variant values to measure (default: {' '.join(VARIANTS)})",
    )
    p.add_argument("--seconds", type=float, default=None, help="minimum timed duration per point")
    p.add_argument("--skip-pytest", action="store_true", help="measure only")
    p.add_argument(
        "--vmmc",
        action="store_true",
        help="also time the VMMC cluster moves on the GPU against one CPU core (bench_gpu_vmmc.py)",
    )
    p.add_argument("--ncu", metavar="VARIANT", help="also profile this variant with Nsight Compute")
    p.add_argument("--ncu-size", type=int, default=None, help="lattice edge n for --ncu (N=n^3-1)")
    p.add_argument("--ncu-launches", type=int, default=3, help="update launches --ncu profiles")
    p.add_argument(
        "--wheels",
        default=str(REPO / ".whl"),
        help="folder of wheels (gsd) installed when gsd is missing (default .whl)",
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--ncu-target", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "--worker":
        return worker(sys.argv[2])
    args = parse_args(argv)
    if args.ncu_target:
        return ncu_target(args.ncu_target, args.ncu_size)
    args.outdir.mkdir(parents=True, exist_ok=True)
    cfg = dict(SMOKE if args.smoke else FULL)
    if args.seconds is not None:
        cfg["seconds"] = args.seconds
        cfg["cpu_seconds"] = max(args.seconds, cfg["cpu_seconds"])
    variants = args.variants or cfg["variants"]
    clock = Clock(args.timeout)
    data = dict(
        schema=SCHEMA,
        started=_now(),
        finished=None,
        status="running",
        command=[sys.executable, *sys.argv],
        smoke=args.smoke,
        timeout=args.timeout,
        variants=variants,
        state=dict(packing_fraction=PHI, beta_epsilon=BETA_EPS, well_range=WELL, vacancies=1, lattice="sc"),
        steps={},
        machine={},
    )
    rep = Report(args.outdir / "gpu_check.json", data)
    with (
        open(args.outdir / "gpu_check.log", "a") as log,
        tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp,
    ):
        run_steps(args, cfg, variants, clock, rep, log, Path(tmp))
    short = [p for p in data.get("points", []) if p.get("skipped")]
    short += [n for n, step in data["steps"].items() if "not run" in step.get("error", "")]
    data.update(finished=_now(), status="done" if not short else "cut short by the time limit")
    data["summary"] = summarise(data)
    rep.save()
    print_summary(data)
    return 0


def run_steps(args, cfg, variants, clock, rep, log, tmp):  # noqa: PLR0913
    data = rep.data
    with rep.step("environment") as entry:
        facts, paths = prepare_imports(args.wheels, tmp, log)
        data["packages"] = facts
        env = child_env(paths)
        entry["pythonpath"] = paths
    with rep.step("machine"):
        data["machine"].update(machine_facts())
    if not args.skip_pytest:
        with rep.step("pytest_fast"):
            budget = min(150.0, 0.35 * clock.left())
            data["pytest_fast"] = run_pytest(
                "gpu and not slow", budget, args.outdir / "pytest-fast.xml", env, log
            )
    with rep.step("measure"):
        # the VMMC step compiles its kernels on a fresh machine: keep it time
        reserve = min(VMMC_RESERVE, 0.4 * clock.left()) if args.vmmc else 0.0
        run_worker_steps(rep, cfg, variants, clock, env, log, reserve)
    if args.vmmc:
        with rep.step("vmmc"):
            data["vmmc"] = run_vmmc(args.smoke, min(240.0, clock.left() - 10), env, log)
    if args.ncu:
        with rep.step("ncu"):
            n = args.ncu_size or (4 if args.smoke else 100)
            data["ncu"] = run_ncu(
                args.ncu, n, args.ncu_launches, min(240, clock.left() - 10), args.outdir, env, log
            )
    if not args.skip_pytest:
        with rep.step("pytest_slow"):
            budget = clock.left() - 10
            if budget < (5 if args.smoke else 60):
                raise RuntimeError(f"not run: {budget:.0f} s left")
            data["pytest_slow"] = run_pytest(
                "gpu and slow", budget, args.outdir / "pytest-slow.xml", env, log
            )


if __name__ == "__main__":
    sys.exit(main())
