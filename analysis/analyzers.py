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
    "ClusterAnalyzer",
    "OrthosliceWriter",
    "LONG_ROW_SITES",
    "SIZE_CLASSES",
    "size_class_key",
    "attraction",
]

#: a vacancy row of at least this many sites counts as "long" (claim V2, docs/analysis.md)
LONG_ROW_SITES = 4

#: crystalline-cluster size classes (cubes, inclusive; None: no upper end) of ClusterAnalyzer's
#: size-distribution series.  8: a 2 x 2 x 2 block, the smallest cluster given a shape (smaller
#: ordered clusters come and go in a fluid); 30: nucleation.MIN_CRYSTAL, a crystallite (an SP);
#: 100 and 300: roughly threefold steps, so each class is a step of growth (300 is more than half
#: of the nucleation scan's 500 cubes)
SIZE_CLASSES = ((8, 29), (30, 99), (100, 299), (300, None))


def attraction(frame):
    """(beta_epsilon, well_range) a frame logged, each None where it did not."""
    return _number(frame.log.get("beta_epsilon")), _number(frame.log.get("well_range"))


def size_class_key(kind, size_class):
    """Series name of one size class: kind "clusters" (how many) or "cubes" (cubes they hold)."""
    lo, hi = size_class
    return f"{kind}_{lo}_{'up' if hi is None else hi}"


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


#: per-frame series of the largest non-spanning crystallite: {series key: Supraparticle attribute}
#: (counts, not fractions, so frames and replicas pool by summing)
SP_SERIES = {
    "largest_cuboidality": "cuboidality",
    "largest_bulk_sites": "bulk_sites",
    "largest_bulk_vacancies": "bulk_vacancies",
    "largest_surface_sites": "surface_sites",
    "largest_surface_vacancies": "surface_vacancies",
}


class ClusterAnalyzer(Analyzer):
    """Crystalline SC clusters and their shapes (analysis.nucleation).

    Shapes are measured on the largest crystallite that does not wrap around the periodic box
    (`CrystalClusters.largest_nonspanning`, at least `min_shape_size` cubes): a box-spanning
    crystal has no faces of its own. The summary's `nonspanning_final` holds that crystallite's
    shape and its supraparticle numbers (analysis.supraparticle, site mapping along bonds); the
    series `largest_cuboidality` (the site measure N2 judges), the site and vacancy counts of
    SP_SERIES (F1's) and `nonspanning_size` follow that crystallite frame by frame.
    The size distribution follows as series per class of SIZE_CLASSES: `clusters_<lo>_<hi>`
    (how many crystalline clusters of lo to hi cubes) and `cubes_<lo>_<hi>` (the cubes they hold);
    `n_crystallites` counts the clusters of >= nucleation.MIN_CRYSTAL cubes (the SPs).

    For a run with attraction (the frames log beta_epsilon < 0 and well_range) the summary also
    classifies the last frame (`state_final`: crystal / aggregate / fluid, nucleation.classify_state)
    and gives the induction sweeps: the first frame's step at which the largest crystalline
    cluster reached each size of INDUCTION_SIZES (None if it never did).
    """

    #: largest-cluster sizes whose first appearance is reported as an induction time
    INDUCTION_SIZES = (50, 100)

    section = "clusters"

    def __init__(self, discard=0.0, min_shape_size=8, reference=None, **cluster_options):
        """reference: (box, positions) of the hard fluid the run was quenched from (classify_state)."""
        super().__init__(discard)
        self.reference = reference
        from .nucleation import CrystalClusters

        self.clusters = CrystalClusters(**cluster_options)
        self.min_shape_size = min_shape_size
        self._nonspanning = None  # (cluster index, unwrapped (pos, q), Supraparticle) of the last frame
        self._last_frame = None
        self._steps = []

    def compute(self, frame):
        from .nucleation import MIN_CRYSTAL
        from .supraparticle import Supraparticle

        cc = self.clusters.compute(frame.box, frame.positions, frame.orientations)
        self._last_frame = frame
        self._steps.append(frame.step)
        c = cc.largest_nonspanning(self.min_shape_size)
        sp = configuration = None  # N2's and F1's measures (sites along bonds), frame by frame
        if c is not None:
            configuration = cc.cluster_configuration(c)[:2]
            sp = Supraparticle(mapping="bonds").compute(*configuration)
        self._nonspanning = c, configuration, sp
        self._append(**{key: None if sp is None else getattr(sp, attr) for key, attr in SP_SERIES.items()})
        self._append(
            crystalline_fraction=cc.crystalline_fraction,
            largest_cluster=cc.largest_cluster_size,
            n_clusters=cc.num_clusters,
            n_crystallites=int((cc.cluster_sizes >= MIN_CRYSTAL).sum()),
            nonspanning_size=0 if c is None else int(cc.cluster_sizes[c]),
            mean_q4=float(cc.q4.mean()),
            **self._size_classes(cc.cluster_sizes),
        )
        return self

    @staticmethod
    def _size_classes(sizes):
        """Clusters and the cubes they hold per SIZE_CLASSES class (plain ints per frame)."""
        out = {}
        for lo, hi in SIZE_CLASSES:
            inside = sizes[(sizes >= lo) & (sizes <= (np.inf if hi is None else hi))]
            out[size_class_key("clusters", (lo, hi))] = int(inside.size)
            out[size_class_key("cubes", (lo, hi))] = int(inside.sum())
        return out

    def _nonspanning_final(self):
        """Shape and SP numbers of the last frame's largest non-spanning crystallite (or None)."""
        from .nucleation import cluster_shape

        c, configuration, sp = self._nonspanning
        if c is None:
            return None
        pos, q = configuration
        return {
            "cluster": int(c),
            "size": int(self.clusters.cluster_sizes[c]),
            "shape": cluster_shape(pos, None, q),
            "supraparticle": sp.summary(),
        }

    @property
    def summary(self):
        if not self.n_frames:
            return {}
        s, cc = self._series, self.clusters
        return {
            "largest_final": int(s["largest_cluster"][-1]),
            "largest_mean": time_average(self.production("largest_cluster")),
            "crystalline_fraction_final": float(s["crystalline_fraction"][-1]),
            "crystalline_fraction_mean": time_average(self.production("crystalline_fraction")),
            "n_clusters_final": int(s["n_clusters"][-1]),
            "size_distribution_final": cc.size_distribution,
            "largest_shapes_final": cc.shapes(max_clusters=3),
            "nonspanning_final": self._nonspanning_final(),
            "mean_q4": time_average(self.production("mean_q4")),
            "n_crystallites_final": int(s["n_crystallites"][-1]),
            "induction_steps": self._induction(),
            "state_final": self._state(),
        }

    def _induction(self):
        """{size: step of the first frame whose largest crystalline cluster has >= size cubes}."""
        steps, largest = self._steps, self._series["largest_cluster"]
        return {
            str(size): next((t for t, n in zip(steps, largest, strict=True) if n >= size), None)
            for size in self.INDUCTION_SIZES
        }

    def _state(self):
        """classify_state of the last frame for a run with attraction (None without one)."""
        from .nucleation import classify_computed

        f = self._last_frame
        beta, well = attraction(f)
        if beta is None or well is None or beta >= 0:
            return None
        # self.clusters holds the last frame's crystalline clusters already
        return classify_computed(
            self.clusters, f.box, f.positions, well, reference=self.reference, sizes=f.sizes
        )


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
