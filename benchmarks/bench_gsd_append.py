"""Per-frame cost of `cubemc.trajectory.append`: the median wall time of one appended frame.

Two files of --particles cubes get --frames frames each, each frame with the engine's full log
(built once; only the append is timed), appended in turns so that both see the same load: one
file with a `gsd_logs.LogKeys` kept across its appends (as a GSDWriter does), the other without
(every append reads the file's log keys again, as every append did before LogKeys).

    python benchmarks/bench_gsd_append.py --particles 4000 --frames 200

Wall times depend on the machine, its disk and its load: quote them with the machine.
"""

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

from cubemc import gsd_logs
from cubemc import trajectory as gsdio
from cubemc.contract import LOG_KEYS


def frame(n):
    rng = np.random.default_rng(1)
    quat = rng.normal(size=(n, 4))
    quat /= np.linalg.norm(quat, axis=1)[:, None]
    log = dict.fromkeys(LOG_KEYS, 1.0)
    return gsdio.make_frame(rng.random((n, 3)) * 20, quat, (20.0, 20.0, 20.0), 0, log)


def append_times(folder, n, frames):
    """{"read each time": seconds per append, "LogKeys": ...}, the appends in turns."""
    made, times = frame(n), {"read each time": [], "LogKeys": []}
    keys = {"read each time": None, "LogKeys": gsd_logs.LogKeys()}
    for _ in range(frames):
        for name, cache in keys.items():
            made.log = dict(made.log)  # fit_frame edits the frame's log in place
            path = os.path.join(folder, f"{name}.gsd")
            start = time.perf_counter()
            gsdio.append(path, made, cache)
            times[name].append(time.perf_counter() - start)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--particles", type=int, default=4000)
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        times = append_times(folder, args.particles, args.frames)
    for name, seconds in times.items():
        median = statistics.median(seconds[1:])  # the first append creates the file
        print(f"{args.particles} particles, {args.frames} frames, {name}: median {median * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
