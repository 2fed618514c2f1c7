"""Averages and their errors: within one run (block averaging) and over replicas.

Frames of one Monte Carlo run are correlated, so their plain standard error is too small.
`block_average` groups the frames into blocks of doubling size (Flyvbjerg and Petersen's
blocking method): once a block is longer than the correlation time, the block means are
independent and their scatter gives the error of the mean. The effective sample size is
then the variance of one frame over the squared error: how many independent frames the run
was worth. A run with fewer than `MIN_EFFECTIVE` effective samples is too short to estimate
its own error (tests on AR(1) series with a known answer: the error is then underestimated
by a factor of 2 or more), and is marked ``converged=False``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "MIN_BLOCKS",
    "MIN_EFFECTIVE",
    "MIN_REPLICAS",
    "Estimate",
    "as_floats",
    "block_average",
    "combine_replicas",
    "difference",
    "replica_mean_sem",
    "replica_statistics",
    "time_average",
]

#: fewest blocks the error is read from (fewer blocks give an error estimate that is too noisy)
MIN_BLOCKS = 8
#: fewest effective samples for which a run's own error estimate is trusted
MIN_EFFECTIVE = 20
#: fewest independent runs whose scatter is trusted as the error without each run's own
MIN_REPLICAS = 3


def as_floats(values):
    """Float array of a JSON series, missing values (None) as NaN."""
    return np.asarray([np.nan if v is None else v for v in values], dtype=float)


def _finite(values):
    x = as_floats(values)
    return x[np.isfinite(x)]


def time_average(series, discard=0.0):
    """Mean of a per-frame series after dropping the first `discard` fraction (equilibration).

    NaN/None entries are ignored; an empty remainder gives NaN.
    """
    x = as_floats(series)
    x = x[int(math.floor(discard * len(x))) :]
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error and the evidence behind it.

    `frames` counts frames, `effective` the effective (independent) samples, `replicas` the
    independent runs; `converged` is False where some run was too short for its own error.
    """

    mean: float
    sem: float
    frames: int
    effective: float
    replicas: int = 1
    converged: bool = True

    @property
    def known(self) -> bool:
        return self.frames > 0 and math.isfinite(self.mean)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data) -> Estimate | None:
        """Inverse of `as_dict` (JSON null -> NaN); None for a missing entry."""
        if not isinstance(data, dict) or "mean" not in data:
            return None

        def num(key, default=float("nan")):
            value = data.get(key)
            return default if value is None else float(value)

        return cls(
            num("mean"),
            num("sem"),
            int(num("frames", 0)),
            num("effective", 0.0),
            int(num("replicas", 1)),
            bool(data.get("converged", False)),
        )


def block_levels(values):
    """(block size, number of blocks, standard error of the mean) at each blocking level."""
    x = _finite(values)
    levels = []
    size = 1
    while len(x) >= 2:
        levels.append((size, len(x), float(x.std(ddof=1) / math.sqrt(len(x)))))
        half = len(x) // 2
        x = 0.5 * (x[0 : 2 * half : 2] + x[1 : 2 * half : 2])
        size *= 2
    return levels


def block_average(values, min_blocks=MIN_BLOCKS, min_effective=MIN_EFFECTIVE) -> Estimate:
    """Mean of one run's per-frame series with its error from block averaging.

    The error is read at the largest block size that leaves at least `min_blocks` blocks.
    A series without any fluctuation has error 0 and counts every frame as independent.
    """
    x = _finite(values)
    n = int(x.size)
    if n == 0:
        return Estimate(float("nan"), float("nan"), 0, 0.0, 1, False)
    mean = float(x.mean())
    variance = float(x.var(ddof=1)) if n > 1 else 0.0
    if variance == 0.0:
        return Estimate(mean, 0.0 if n > 1 else float("nan"), n, float(n), 1, n > 1)
    usable = [level for level in block_levels(x) if level[1] >= min_blocks]
    if not usable:
        return Estimate(mean, float("nan"), n, 0.0, 1, False)
    sem = usable[-1][2]
    # block means that do not scatter (an anticorrelated series) leave every frame independent
    effective = float(n) if sem == 0.0 else min(float(n), variance / sem**2)
    return Estimate(mean, sem, n, effective, 1, effective >= min_effective)


def combine_replicas(estimates) -> Estimate:
    """Mean over independent runs (equal weights) with the larger of two errors.

    The pooled within-run error sqrt(sum sem_i^2) / R and, with at least two runs, the
    scatter of the run means; taking the larger keeps one unlucky run from hiding its spread.
    Independent runs also see slow modes that one run cannot: at βε = −1 on 999 cubes three
    single runs gave spreads of 0.01 ± 0.03, 0.05 ± 0.04 and 0.16 ± 0.03 a (docs/analysis.md).
    """
    runs = [e for e in estimates if e is not None and e.known]
    if not runs:
        return Estimate(float("nan"), float("nan"), 0, 0.0, 0, False)
    r = len(runs)
    means = np.array([e.mean for e in runs])
    within = math.sqrt(sum(e.sem**2 for e in runs)) / r
    between = float(means.std(ddof=1) / math.sqrt(r)) if r > 1 else float("nan")
    candidates = [s for s in (within, between) if math.isfinite(s)]
    sem = max(candidates) if candidates else float("nan")
    # from MIN_REPLICAS runs on, the scatter of the run means is an error that needs no trust in
    # any run's own correlation time, so runs too short for their own error no longer block it
    trusted = all(e.converged for e in runs) or r >= MIN_REPLICAS
    frames, effective = sum(e.frames for e in runs), float(sum(e.effective for e in runs))
    return Estimate(float(means.mean()), sem, frames, effective, r, trusted)


def difference(a: Estimate, b: Estimate) -> tuple[float, float]:
    """a - b and its standard error (independent estimates)."""
    return a.mean - b.mean, math.hypot(a.sem, b.sem)


def replica_mean_sem(values):
    """Mean and standard error over independent replicas (one number each).

    With fewer than two finite values the error is NaN: use `combine_replicas` of
    `block_average` estimates where a single run needs an error bar.
    """
    v = _finite(values)
    n = int(v.size)
    mean = float(v.mean()) if n else float("nan")
    sem = float(v.std(ddof=1) / math.sqrt(n)) if n >= 2 else float("nan")
    return {"mean": mean, "sem": sem, "n": n}


def replica_statistics(series_list, discard=0.0):
    """Per-replica time averages of a list of per-replica time series, then mean +- SEM over replicas."""
    per_replica = [time_average(s, discard) for s in series_list]
    out = replica_mean_sem(per_replica)
    out["per_replica"] = per_replica
    return out
