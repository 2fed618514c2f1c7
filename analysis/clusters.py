"""Crystalline-cluster analysis frame by frame (issue 17): ClusterAnalyzer, the size classes of
its size-distribution series and the per-frame series of the largest supraparticle (SP)."""

from __future__ import annotations

import numpy as np

from .analyzers import Analyzer, attraction
from .stats import time_average

__all__ = ["ClusterAnalyzer", "SIZE_CLASSES", "SP_SERIES", "size_class_key"]

#: crystalline-cluster size classes (cubes, inclusive; None: no upper end) of ClusterAnalyzer's
#: size-distribution series.  8: a 2 x 2 x 2 block, the smallest cluster given a shape (smaller
#: ordered clusters come and go in a fluid); 30: nucleation.MIN_CRYSTAL, a crystallite (an SP);
#: 100 and 300: roughly threefold steps, so each class is a step of growth (300 is more than half
#: of the nucleation scan's 500 cubes)
SIZE_CLASSES = ((8, 29), (30, 99), (100, 299), (300, None))


def size_class_key(kind, size_class):
    """Series name of one size class: kind "clusters" (how many) or "cubes" (cubes they hold)."""
    lo, hi = size_class
    return f"{kind}_{lo}_{'up' if hi is None else hi}"


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
        from .local_sites import LocalSites
        from .nucleation import cluster_shape

        c, configuration, sp = self._nonspanning
        if c is None:
            return None
        pos, q = configuration
        frame = self._last_frame
        others = frame.positions[self.clusters.cluster_idx != c]
        return {
            "cluster": int(c),
            "size": int(self.clusters.cluster_sizes[c]),
            "shape": cluster_shape(pos, None, q),
            # the site counts, and the same counted from each cube's own lattice (LocalSites)
            "supraparticle": sp.summary()
            | {"lattice_free": LocalSites().compute(pos, q, others, frame.box).summary()},
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
