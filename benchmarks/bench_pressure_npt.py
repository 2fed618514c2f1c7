"""Cost of the pressure measurement and of NPT relative to plain NVT sweeps (CPU).

    python benchmarks/bench_pressure_npt.py                 # N = 7999 (20^3 lattice, one vacancy)
    python benchmarks/bench_pressure_npt.py --n 10 --seconds 2 --rounds 5 --json out.json

State: simple-cubic crystal at phi = 0.80 with one vacancy, beta*eps = -1, well range 1.14, move
sizes tuned to 30 % acceptance first. Printed: seconds per sweep of NVT; the extra cost of a
PressureCompute every 10 sweeps as a fraction of NVT (target < 10 %; median of rounds that
alternate with NVT in one process, and one measurement timed against ten NVT sweeps); NPT with the
default BoxMove (one isotropic box move per sweep, size tuned) as a multiple of NVT (target <
1.5x), and the same NPT with every proposed box recounted from scratch (State +
Simulation.count_pairs, the recount before cubemc/npt_cpu.py, energy and overlaps at once) for
comparison. NVT and both NPT runs alternate for `rounds` rounds in one process and the medians of
the per-round ratios are printed, so load from other processes hits all three alike. Compilation
and tuning are not timed.
"""

import argparse
import json
import os
import platform
import statistics
import time

import numba

import cubemc
from cubemc.npt import BoxMove
from cubemc.pressure import PressureCompute


class FromScratchBoxMove(BoxMove):
    """The default box move deciding on the whole-box recount of Simulation.count_pairs, energy
    and overlaps together, for every proposal not rejected on its volume (same chain)."""

    @staticmethod
    def count_units(sim, positions, orientations, params, new_box):
        state = cubemc.State(
            positions, orientations, new_box, check=False, shape=sim.shape.NAME, shape_params=params
        )
        units, overlaps = sim.count_pairs(state)
        return units, overlaps > 0


def seconds_per_sweep(sim, seconds):
    """Grow the number of sweeps of one run() until it takes `seconds`; seconds per sweep."""
    sweeps = 10
    while True:
        start = time.perf_counter()
        sim.run(sweeps)
        elapsed = time.perf_counter() - start
        if elapsed > seconds:
            return elapsed / sweeps
        sweeps = max(2 * sweeps, int(sweeps * seconds / max(elapsed, 1e-3)))


def timed_call(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def timed_with(sim, updaters, seconds):
    sim.operations.updaters[:] = updaters
    try:
        return seconds_per_sweep(sim, seconds)
    finally:
        sim.operations.updaters.clear()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=20, help="lattice edge (N = n^3 - 1)")
    p.add_argument("--seconds", type=float, default=4.0, help="minimum timed duration per point")
    p.add_argument("--rounds", type=int, default=3, help="alternating NVT / NPT rounds")
    p.add_argument("--json", help="also write the figures to this JSON file")
    args = p.parse_args()
    machine = dict(
        host=platform.node(),
        cpu=platform.processor() or platform.machine(),
        cores=os.cpu_count(),
        numba_threads=numba.get_num_threads(),
        load_average=os.getloadavg(),
        cubemc=cubemc.__version__,
        numba=numba.__version__,
    )
    print(f"# {machine}")
    state = cubemc.State.simple_cubic(n=args.n, packing_fraction=0.80, vacancies=1, seed=1)
    sim = cubemc.Simulation(state, beta_epsilon=-1.0, well_range=1.14, seed=2, device="cpu")
    sim.tune(20, period=5)  # also compiles
    sim.run(1)
    pressure = sum(sim.measure_pressure() for _ in range(3)) / 3  # compiles the pressure
    nvt = seconds_per_sweep(sim, args.seconds)

    compute = PressureCompute(period=10)
    sim.operations.writers.append(compute)
    sim.run(10)  # the first measurement fixes the fit range (from the widest one)
    sim.operations.writers.clear()
    pressure_fractions, direct_fractions = [], []
    for _ in range(args.rounds):  # alternating, like the NPT rounds below
        plain = seconds_per_sweep(sim, args.seconds)
        sim.operations.writers.append(compute)
        pressure_fractions.append(seconds_per_sweep(sim, args.seconds) / plain - 1.0)
        sim.operations.writers.clear()
        # the same cost timed directly: the median of 9 measurements against ten sweeps of the
        # round's NVT run (a difference of two run times is at the mercy of load)
        act = statistics.median(timed_call(compute.act, sim) for _ in range(9))
        direct_fractions.append(act / (10 * plain))

    move = BoxMove(pressure)
    sim.operations.updaters.append(move)
    sim.tune(300, period=10)  # the box-move size falls from 0.01 to ~1e-5 for 8000 dense cubes
    sim.operations.updaters.clear()
    scratch = FromScratchBoxMove(pressure, volume_size=move.volume_size)
    timed_with(sim, [scratch], 0.0)  # compiles the from-scratch count
    ratios, scratch_ratios, nvts = [], [], []
    for _ in range(args.rounds):
        nvts.append(timed_with(sim, [], args.seconds))
        ratios.append(timed_with(sim, [move], args.seconds) / nvts[-1])
        scratch_ratios.append(timed_with(sim, [scratch], args.seconds) / nvts[-1])
    rows = dict(
        N=sim.N,
        nvt_seconds_per_sweep=nvt,
        pressure_every_10_fraction=statistics.median(pressure_fractions),
        pressure_rounds=pressure_fractions,
        pressure_direct_fraction=statistics.median(direct_fractions),
        pressure_direct_rounds=direct_fractions,
        npt_over_nvt=statistics.median(ratios),
        npt_from_scratch_over_nvt=statistics.median(scratch_ratios),
        npt_rounds=ratios,
        npt_from_scratch_rounds=scratch_ratios,
        nvt_rounds_seconds_per_sweep=nvts,
        box_move_acceptance=move.acceptance["volume"],
        box_move_size=move.volume_size,
        beta_pressure=pressure,
        load_average_after=os.getloadavg(),
    )
    print(
        f"N = {sim.N}: NVT {nvt * 1e3:.2f} ms/sweep; pressure every 10 sweeps "
        f"+{100 * rows['pressure_every_10_fraction']:.1f} % (target < 10 %; timed directly "
        f"{100 * rows['pressure_direct_fraction']:.1f} %); NPT "
        f"{rows['npt_over_nvt']:.2f}x NVT (target < 1.5x; box acceptance "
        f"{rows['box_move_acceptance']:.2f}, beta P = {pressure:.3f}); NPT recounting from scratch "
        f"{rows['npt_from_scratch_over_nvt']:.2f}x NVT"
    )
    print(
        "# per round: pressure "
        + " ".join(f"+{100 * f:.1f} %" for f in pressure_fractions)
        + "; NVT ms/sweep "
        + " ".join(f"{1e3 * t:.2f}" for t in nvts)
        + "; NPT/NVT "
        + " ".join(f"{r:.2f}" for r in ratios)
        + "; from scratch "
        + " ".join(f"{r:.2f}" for r in scratch_ratios)
        + f"; load average after {os.getloadavg()}"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(machine=machine, results=rows), fh, indent=1)


if __name__ == "__main__":
    main()
