"""Per-core trial moves per second of this checkout against an earlier commit, in one process.

    NUMBA_NUM_THREADS=1 python benchmarks/bench_engine_compare.py aabe71a   # the pre-redesign engine

On a shared or loaded machine two separate runs differ by 20 % or more, so both engines run in
one process and alternate short chunks of sweeps: whatever slows one slows the other.  The earlier
commit's `cubemc` package is exported from this repository (git archive) into a temporary folder
and imported under another name.  Both simulations use the same seed, and the engine's results are
bit-exact across the redesign, so both do exactly the same work; time is process CPU time.

State: 20^3 simple-cubic lattice at phi = 0.80 minus one vacancy (N = 7999), beta*eps = -1,
well range 1.14, translation 0.1, rotation 0.05 (fixed, so both see the same moves).
"""

import argparse
import importlib
import os
import re
import subprocess
import sys
import tempfile
import time

import numba

import cubemc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def export_package(revision: str, folder: str, name: str) -> None:
    """Write `revision`'s cubemc package to folder/name, its imports renamed to `name`."""
    archive = subprocess.run(
        ["git", "-C", ROOT, "archive", revision, "cubemc"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    os.rename(os.path.join(folder, "cubemc"), os.path.join(folder, name))
    pattern = re.compile(r"\bcubemc\b(?=[. ])|\bcubemc$", re.M)
    for root, _, files in os.walk(os.path.join(folder, name)):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(root, file)
                with open(path) as fh:
                    text = fh.read()
                with open(path, "w") as fh:
                    fh.write(pattern.sub(name, text))


def simulation(mc):
    state = mc.State.simple_cubic(20, 0.80, 1, seed=1)
    sim = mc.Simulation(state, -1.0, 1.14, seed=2, device="cpu", translate_size=0.1, rotate_size=0.05)
    sim.run(2)  # compiles
    return sim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="earlier commit to compare with (e.g. aabe71a)")
    parser.add_argument("--rounds", type=int, default=8, help="alternating chunks of 5 sweeps")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        export_package(args.revision, folder, "cubemc_earlier")
        sys.path.insert(0, folder)
        earlier = importlib.import_module("cubemc_earlier")
        sims = {args.revision: simulation(earlier), "this checkout": simulation(cubemc)}
        cpu = dict.fromkeys(sims, 0.0)
        for _ in range(args.rounds):
            for label, sim in sims.items():
                start = time.process_time()
                sim.run(5)
                cpu[label] += time.process_time() - start
    n = sims["this checkout"].N
    print(f"N = {n}, numba threads = {numba.config.NUMBA_NUM_THREADS}, {args.rounds * 5} sweeps each")
    for label, seconds in cpu.items():
        print(f"{label:>16}: {n * 5 * args.rounds / seconds:.3g} trial moves per CPU second")
    print(f"ratio this checkout / {args.revision}: {cpu[args.revision] / cpu['this checkout']:.3f}")


if __name__ == "__main__":
    main()
