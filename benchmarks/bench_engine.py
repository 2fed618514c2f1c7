"""Trial moves per second of the native engine (a trial move = one proposed translation or rotation).

    python benchmarks/bench_engine.py                 # N = 1000, 8000, 64000 on CPU (+ GPU if any)
    python benchmarks/bench_engine.py --sizes 10 20 --devices cpu --json out.json
    python benchmarks/bench_engine.py --sizes 10 --batch 128    # 128 systems of 999 cubes at once
    python benchmarks/bench_engine.py --devices gpu --gpu-variant cell fused:8   # kernel layouts

benchmarks/gpu_check.py measures every layout, the tests and the machine in one command
(docs/gpu.md).

State: simple-cubic crystal at phi = 0.80 with one vacancy, beta*eps = -1, well range 1.14, move
sizes tuned to 30 % acceptance first.  Compilation and tuning are not timed.
"""

import argparse
import json
import os
import platform
import time

import numba

import cubemc
from cubemc.devices import describe_gpu, gpu_usable


def measure(n, device, seconds, batch=1, gpu_variant="cell"):
    sims = []
    for b in range(batch):
        state = cubemc.State.simple_cubic(n=n, packing_fraction=0.80, vacancies=1, seed=1 + b)
        sim = cubemc.Simulation(
            state, beta_epsilon=-1.0, well_range=1.14, seed=2 + b, device=device, gpu_variant=gpu_variant
        )
        sim.tune(20, period=5)  # also compiles
        sims.append(sim)
    if batch > 1:
        runner = cubemc.SimulationBatch(sims).run
    else:

        def runner(sweeps):
            sims[0].run(sweeps)
            _ = sims[0].positions  # waits for a GPU to finish

    runner(1)  # compiles the batched kernels
    sweeps = 1
    while True:  # grow the number of sweeps until they take `seconds`
        start = time.perf_counter()
        runner(sweeps)
        elapsed = time.perf_counter() - start
        if elapsed > seconds:
            break
        sweeps = max(2 * sweeps, int(sweeps * seconds / max(elapsed, 1e-3)))
    n_total = sum(s.N for s in sims)
    return dict(
        N=sims[0].N,
        batch=batch,
        device=device,
        gpu_variant=gpu_variant if device == "gpu" else None,
        sweeps=sweeps,
        seconds=elapsed,
        trial_moves_per_second=sweeps * n_total / elapsed,
        acceptance=sims[0].acceptance,
    )


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 40], help="lattice edges n (N = n^3 - 1)")
    p.add_argument("--devices", nargs="+", default=None, help="cpu and/or gpu (default: all usable)")
    p.add_argument("--seconds", type=float, default=3.0, help="minimum timed duration per point")
    p.add_argument("--batch", type=int, default=1, help="systems advanced together (aggregate rate)")
    p.add_argument(
        "--gpu-variant",
        nargs="+",
        default=["cell"],
        help="CUDA kernel layouts to measure (cubemc/gpu.py: cell, tile[:lanes], "
        "fused[:lanes], each optionally /registers)",
    )
    p.add_argument("--json", help="also write the figures to this JSON file")
    args = p.parse_args()
    devices = args.devices
    if devices is None:
        devices = ["cpu"] + (["gpu"] if gpu_usable()[0] else [])
    machine = dict(
        host=platform.node(),
        cpu=platform.processor() or platform.machine(),
        cores=os.cpu_count(),
        numba_threads=numba.get_num_threads(),
        cubemc=cubemc.__version__,
        numba=numba.__version__,
    )
    if "gpu" in devices:
        machine["gpu"] = describe_gpu()
    print(f"# {machine}")
    print(
        f"{'device':>6} {'batch':>5} {'N':>8} {'sweeps':>7} {'seconds':>8} {'trial moves/s':>14} "
        f"{'per N':>10} {'acc(t/r)':>10}"
    )
    rows = []
    runs = [(d, v) for d in devices for v in (args.gpu_variant if d == "gpu" else [None])]
    for device, variant in runs:
        for n in args.sizes:
            r = measure(n, device, args.seconds, args.batch, variant or "cell")
            rows.append(r)
            acc = r["acceptance"]
            name = device if variant is None else f"{device}:{variant}"
            print(
                f"{name:>6} {r['batch']:>5} {r['N']:>8} {r['sweeps']:>7} {r['seconds']:>8.2f} "
                f"{r['trial_moves_per_second']:>14.3e} {r['trial_moves_per_second'] / r['N']:>10.1f} "
                f"{acc['translate']:.2f}/{acc['rotate']:.2f}",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(machine=machine, results=rows), fh, indent=1)


if __name__ == "__main__":
    main()
