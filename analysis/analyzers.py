"""Per-frame analyzers in the style of freud: ``compute(frame)`` returns the analyzer, the
results are properties, and ``summary`` condenses the production frames.

Each analyzer keeps its own per-frame ``series`` (lists of plain numbers) and reads only the
`Frame` it is given, so a trajectory driver is a loop over frames and analyzers::

    analyzers = [LogAnalyzer(), VacancyAnalyzer(box, n_cells)]
    for frame in read_frames("trajectory.gsd"):
        for analyzer in analyzers:
            analyzer.compute(frame)
    analyzers[1].summary["estimates"]["line_shift"]

`discard` is the leading fraction of the frames seen that counts as equilibration: those
frames stay in the series but not in the summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .stats import block_average, time_average

__all__ = [
    "Frame",
    "Analyzer",
    "LogAnalyzer",
    "VacancyAnalyzer",
    "OrientationAnalyzer",
    "OrthosliceWriter",
    "LONG_ROW_SITES",
    "attraction",
]

#: a vacancy row of at least this many sites counts as "long" (claim V2, docs/analysis.md)
LONG_ROW_SITES = 4


def attraction(frame):
    """(beta_epsilon, well_range) a frame logged, each None where it did not."""
    return _number(frame.log.get("beta_epsilon")), _number(frame.log.get("well_range"))


@dataclass(frozen=True)
class Frame:
    """One trajectory frame: sweep, box edges (3,), float64 positions and quaternions, the
    scalar ``log/cubemc/*`` values of the frame (without the prefix), and the particle sizes
    (mean outer edges, the scale of the well; None for unit cubes)."""

    step: int
    box: np.ndarray
    positions: np.ndarray
    orientations: np.ndarray
    log: dict = field(default_factory=dict)
    sizes: np.ndarray | None = None

    @property
    def N(self) -> int:
        return len(self.positions)


class Analyzer:
    """Base class: a per-frame series and a summary of the production frames."""

    #: key of the analyzer's summary in a trajectory summary (None: merged into the top level)
    section: str | None = None

    def __init__(self, discard=0.0):
        if not 0.0 <= discard < 1.0:
            raise ValueError(f"discard={discard!r} must be in [0, 1)")
        self.discard = float(discard)
        self._series: dict[str, list] = {}

    def compute(self, frame: Frame):
        raise NotImplementedError

    def _append(self, **values):
        for key, value in values.items():
            self._series.setdefault(key, []).append(value)

    @property
    def n_frames(self) -> int:
        return max((len(v) for v in self._series.values()), default=0)

    @property
    def first_production(self) -> int:
        """Index of the first frame that enters the summary."""
        return int(math.floor(self.discard * self.n_frames))

    def production(self, key) -> list:
        return self._series.get(key, [])[self.first_production :]

    def estimate(self, key) -> dict:
        """Block-averaged mean and error of one series over the production frames."""
        return block_average(self.production(key)).as_dict()

    @property
    def series(self) -> dict:
        return self._series

    @property
    def summary(self) -> dict:
        return {}


class LogAnalyzer(Analyzer):
    """Energy and bond count logged by the engine; state variables of the last frame."""

    def __init__(self, discard=0.0, keys=("energy", "bonds")):
        super().__init__(discard)
        self.keys = tuple(keys)
        self._last = {}
        self._n = None

    def compute(self, frame):
        self._n = frame.N
        self._last = dict(frame.log)
        self._append(**{k: _number(frame.log.get(k)) for k in self.keys})
        return self

    @property
    def series(self):
        # a quantity the trajectory never logged is left out, not reported as a column of nulls
        return {k: v for k, v in self._series.items() if any(x is not None for x in v)}

    @property
    def summary(self):
        out = {
            k: self._last[k] for k in ("beta_epsilon", "well_range") if _number(self._last.get(k)) is not None
        }
        for key, name in (("energy", "energy_per_particle"), ("bonds", "bonds_per_particle")):
            if key in self.series and self._n:
                out[name] = time_average(self.production(key)) / self._n
        return out


class VacancyAnalyzer(Analyzer):
    """Vacancy site mapping, delocalisation and hops (analysis.vacancy) frame after frame.

    Summary: the former scalar keys plus ``estimates``: block-averaged mean, error, frames and
    effective samples of the line shift, the bulk floor, their difference (excess), the row
    length and the fractions of frames with the vacancy on one site and with a long row.
    """

    section = "vacancy"

    def __init__(self, box, n_cells=None, n_particles=None, displacement_fraction=0.25, discard=0.0):
        super().__init__(discard)
        from .vacancy import VacancyTracker

        self.tracker = VacancyTracker(box, n_cells, n_particles, displacement_fraction)
        self.displacement_fraction = float(displacement_fraction)
        self._steps = []

    @property
    def lattice(self):
        return self.tracker.lattice

    def compute(self, frame):
        self.tracker.compute(frame.positions)
        self._steps.append(frame.step)
        self._series = self.tracker.series
        return self

    @property
    def summary(self):
        s = self._series
        if not self.n_frames:
            return {}
        first = self.first_production
        rl = np.asarray(s["row_length"][first:], dtype=float)
        excess = [v - b for v, b in zip(s["line_shift"], s["bulk_line_shift"], strict=False)]
        hops = int(sum(s["hops"][first + 1 :]))
        sweeps = self._steps[-1] - self._steps[first] if self.n_frames > 1 else 0
        estimates = {
            key: self.estimate(key) for key in ("line_shift", "bulk_line_shift", "row_length", "n_displaced")
        }
        estimates["excess_line_shift"] = block_average(excess[first:]).as_dict()
        estimates["localised"] = block_average(rl <= 1).as_dict()
        estimates["long_row"] = block_average(rl >= LONG_ROW_SITES).as_dict()
        return {
            "n_cells": [int(x) for x in self.lattice.n_cells],
            "lattice_constant": float(np.mean(self.lattice.a)),
            "displacement_fraction": self.displacement_fraction,
            "line_reach": int(min(self.lattice.line_reach, (min(self.lattice.n_cells) - 1) // 2)),
            "long_row_sites": LONG_ROW_SITES,
            "row_length_mean": float(rl.mean()),
            "row_length_p95": float(np.percentile(rl, 95)),
            "row_length_max": int(rl.max()),
            "frac_localised": float(np.mean(rl <= 1)),
            "line_shift_mean": time_average(s["line_shift"][first:]),
            "bulk_line_shift_mean": time_average(s["bulk_line_shift"][first:]),
            "n_displaced_mean": time_average(s["n_displaced"][first:]),
            "n_empty_mean": time_average(s["n_empty"][first:]),
            "n_double_mean": time_average(s["n_double"][first:]),
            "max_displacement_mean": time_average(s["max_displacement"][first:]),
            "hops": hops,
            "hops_per_frame": hops / max(1, len(rl) - 1),
            "hops_per_sweep": hops / sweeps if sweeps > 0 else None,
            "estimates": estimates,
        }


class OrientationAnalyzer(Analyzer):
    """Cubatic order, misorientation from a reference and in-plane angles (analysis.orientation).

    `reference` None measures misorientation from the box axes (a crystal built aligned with
    the box); "director" uses each frame's cubatic director (fluids).
    """

    section = "orientation"

    def __init__(self, reference=None, seed=0, discard=0.0):
        super().__init__(discard)
        self.reference = reference
        self.seed = seed
        self._pools = []  # (misorientation, in-plane xy, in-plane xz, in-plane yz) per frame

    def compute(self, frame):
        from .orientation import cubatic_order, fwhm, inplane_angles, misorientation_angles

        q = frame.orientations
        order, director = cubatic_order(q, seed=self.seed)
        mis = misorientation_angles(q, director if self.reference == "director" else None)
        inplane = [inplane_angles(q, plane) for plane in ((0, 1), (0, 2), (1, 2))]
        self._append(
            cubatic=order,
            misorientation_mean=float(mis.mean()),
            misorientation_fwhm=fwhm(mis, "kde"),
            inplane_fwhm=fwhm(inplane[0], "gaussian"),
        )
        self._pools.append((mis, *inplane))
        return self

    @property
    def summary(self):
        from .orientation import fwhm

        pools = self._pools[self.first_production :]
        if not pools:
            return {}
        mis = np.concatenate([p[0] for p in pools])
        xy = np.concatenate([p[1] for p in pools])
        pooled = np.concatenate([np.concatenate(p[1:]) for p in pools])
        return {
            "reference": "cubatic director" if self.reference == "director" else "lattice",
            "cubatic_mean": time_average(self.production("cubatic")),
            "misorientation_mean_deg": float(mis.mean()),
            "misorientation_fwhm_deg": fwhm(mis, "kde"),
            "inplane_fwhm_deg": fwhm(xy, "gaussian"),
            "inplane_fwhm_pooled_deg": fwhm(pooled, "gaussian"),
        }


class OrthosliceWriter(Analyzer):
    """Draws orthoslices through the vacancy of the last frame computed (analysis.orthoslice)."""

    def __init__(self, outfile, lattice):
        super().__init__(0.0)
        self.outfile, self.lattice, self._last = str(outfile), lattice, None

    def compute(self, frame):
        self._last = frame
        return self

    @property
    def summary(self):
        from .orthoslice import plot_orthoslices

        if self._last is None:
            return {}
        f = self._last
        plot_orthoslices(
            f.positions,
            f.orientations,
            f.box,
            lattice=self.lattice,
            outfile=self.outfile,
            title=f"step {f.step}",
        )
        return {"orthoslice_png": self.outfile}


def _number(value):
    try:
        x = float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        return None
    return x if math.isfinite(x) else None
