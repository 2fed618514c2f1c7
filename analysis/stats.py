"""Averages over time and over independent replicas."""

import math

import numpy as np


def time_average(series, discard=0.0):
    """Mean of a per-frame series after dropping the first `discard` fraction (equilibration).

    NaN/None entries are ignored; an empty remainder gives NaN.
    """
    x = np.asarray([np.nan if v is None else v for v in series], dtype=float)
    x = x[int(math.floor(discard * len(x))):]
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


def replica_mean_sem(values):
    """Mean and standard error over independent replicas (one number each).

    With fewer than two finite values the error is NaN (reported as n/a): replicas are the
    only independent samples we trust, frames within a run are correlated.
    """
    v = np.asarray([np.nan if x is None else x for x in values], dtype=float)
    v = v[np.isfinite(v)]
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
