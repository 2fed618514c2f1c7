"""From job summaries to the evidence the claims are judged on: per state point, replicas combined.

A job is ``{"statepoint": {...}, "summary": {...}, "series": {...}}`` (the trajectory analysis
plus the job's state point). Per-frame series are preferred (errors by block averaging within
each run, then combined over replicas); a summary's stored ``estimates`` stand in for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .stats import Estimate, block_average, combine_replicas

__all__ = ["ALIASES", "VacancyPoint", "statepoint_value", "get", "vacancy_points", "estimate_over_jobs"]

ALIASES = {
    "beta_epsilon": ("beta_epsilon", "beta_eps", "betaeps"),
    "packing_fraction": ("packing_fraction", "phi"),
    "well_range": ("well_range", "lambda_"),
    "N": ("N", "n_particles"),
    "initial_state": ("initial_state", "init", "start"),
    "replica": ("replica", "replicate"),
}

#: per-frame vacancy series and how a frame's value is derived from the series
_VACANCY_SERIES = {
    "line_shift": lambda s: s["line_shift"],
    "bulk_line_shift": lambda s: s["bulk_line_shift"],
    "excess_line_shift": lambda s: [
        a - b for a, b in zip(s["line_shift"], s["bulk_line_shift"], strict=True)
    ],
    "row_length": lambda s: s["row_length"],
    "localised": lambda s: [float(r <= 1) for r in s["row_length"]],
}


def get(d, path):
    """d["a"]["b"] for path "a.b"; None where any part is missing."""
    for part in path.split("."):
        if not isinstance(d, dict) or d.get(part) is None:
            return None
        d = d[part]
    return d


def statepoint_value(job, key):
    sp = job.get("statepoint") or {}
    for k in ALIASES.get(key, (key,)):
        if k in sp:
            return sp[k]
    if key in ("beta_epsilon", "N"):
        return (job.get("summary") or {}).get(key)
    return None


def _production(job, values):
    discard = get(job.get("summary"), "discard") or 0.0
    return list(values)[int(math.floor(discard * len(values))) :]


def _run_estimate(job, key, long_row=None):
    """Block-averaged estimate of one vacancy quantity in one run, or None."""
    series = job.get("series") or {}
    if key == "long_row" and series.get("row_length"):
        rows = _production(job, series["row_length"])
        return block_average([float(r >= long_row) for r in rows])
    if key in _VACANCY_SERIES and series.get("row_length") and series.get("bulk_line_shift"):
        return block_average(_production(job, _VACANCY_SERIES[key](series)))
    if key in ("line_shift", "row_length") and series.get(key):  # analyses without a bulk floor
        return block_average(_production(job, series[key]))
    return Estimate.from_dict(get(job.get("summary"), f"vacancy.estimates.{key}"))


def estimate_over_jobs(jobs, key, long_row=4):
    """Replica-combined estimate of a vacancy quantity over jobs of one state point."""
    return combine_replicas([_run_estimate(j, key, long_row) for j in jobs])


@dataclass
class VacancyPoint:
    """Everything the vacancy claims need at one βε of one family, replicas combined."""

    beta_epsilon: float
    n_cells: int
    replicas: int
    estimates: dict
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    line_shifts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bulk_shifts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hops_per_sweep: float = float("nan")
    long_row: int = 4

    def __getitem__(self, key) -> Estimate:
        return self.estimates[key]

    @property
    def frames(self) -> int:
        return (
            self["excess_line_shift"].frames if self["excess_line_shift"].known else self["row_length"].frames
        )

    def fraction_of_rows_above(self, sites) -> float:
        """Fraction of production frames whose vacancy row is longer than `sites`."""
        return float(np.mean(self.rows > sites)) if self.rows.size else float("nan")


def _pooled(jobs, key):
    out = []
    for j in jobs:
        values = (j.get("series") or {}).get(key)
        if values:
            out += [np.nan if v is None else v for v in _production(j, values)]
    return np.asarray(out, dtype=float)


def vacancy_points(groups) -> dict:
    """{βε: VacancyPoint} for {βε: [jobs]} of crystal runs of one family."""
    points = {}
    for beta, jobs in groups.items():
        if not math.isfinite(beta):
            continue
        first = get(jobs[0].get("summary"), "vacancy") or {}
        long_row = int(first.get("long_row_sites") or 4)
        cells = first.get("n_cells") or [statepoint_value(jobs[0], "n_lattice") or 0]
        keys = (*_VACANCY_SERIES, "long_row")
        hops = [get(j.get("summary"), "vacancy.hops_per_sweep") for j in jobs]
        hops = [h for h in hops if h is not None]
        rows = _pooled(jobs, "row_length")
        points[beta] = VacancyPoint(
            beta_epsilon=beta,
            n_cells=int(min(cells)),
            replicas=len(jobs),
            estimates={k: estimate_over_jobs(jobs, k, long_row) for k in keys},
            rows=rows[np.isfinite(rows)].astype(int),
            line_shifts=_pooled(jobs, "line_shift"),
            bulk_shifts=_pooled(jobs, "bulk_line_shift"),
            hops_per_sweep=float(np.mean(hops)) if hops else float("nan"),
            long_row=long_row,
        )
    return points
