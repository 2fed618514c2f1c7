"""A picture of grown supraparticles: cubes drawn as cubes, coloured by crystallinity.

Cubes of the largest crystalline clusters get one colour each (largest first), other
crystalline cubes a common colour, and non-crystalline cubes are drawn pale and translucent, so
the crystallites stand out of the fluid around them.  `CrystalliteWriter` draws the last frame of
a trajectory this way (analysis.trajectory's ``crystallites`` option; the workflow's
crystallites.png for runs from a fluid with attraction).
"""

import numpy as np

from cubemc.geometry import quaternion_matrices

from .analyzers import Analyzer, attraction
from .nucleation import CrystalClusters

__all__ = ["centred_positions", "crystallinity_colours", "plot_crystallites", "CrystalliteWriter"]

_VERTICES = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
_FACES = np.array([[0, 1, 3, 2], [4, 5, 7, 6], [0, 1, 5, 4], [2, 3, 7, 6], [0, 2, 6, 4], [1, 3, 7, 5]])
#: colours of the largest clusters, then of other crystalline cubes, then of the fluid (RGBA)
CLUSTER_COLOURS = np.array(
    [[0.84, 0.15, 0.16, 1.0], [0.12, 0.47, 0.71, 1.0], [0.17, 0.63, 0.17, 1.0], [1.0, 0.5, 0.05, 1.0]]
)
COLOUR_NAMES = ("red", "blue", "green", "orange")
OTHER_CRYSTAL = np.array([0.58, 0.4, 0.74, 1.0])
FLUID = np.array([0.8, 0.8, 0.8, 0.12])


def crystallinity_colours(clusters):
    """RGBA per cube from a computed CrystalClusters (see the module doc)."""
    idx = np.asarray(clusters.cluster_idx)
    colours = np.tile(FLUID, (len(idx), 1))
    colours[idx >= 0] = OTHER_CRYSTAL
    for c, colour in enumerate(CLUSTER_COLOURS):
        colours[idx == c] = colour
    return colours


def legend_text(clusters):
    """'crystalline clusters: 180 red, 89 blue; 12 other crystalline cubes purple' (each colour
    named next to the cluster it marks)."""
    sizes = [int(s) for s in clusters.cluster_sizes]
    shown = [f"{s} {name}" for s, name in zip(sizes, COLOUR_NAMES)]
    others = sum(sizes[len(COLOUR_NAMES) :])
    text = "crystalline clusters: " + (", ".join(shown) if shown else "none")
    return text + (f"; {others} other crystalline cubes purple" if others else "")


def centred_positions(clusters, positions, box, min_size=8):
    """Positions shifted so that the largest crystallite that does not wrap around the box sits
    whole in the middle (then wrapped back into the box); unchanged without one.  The picture
    shows the SP in one piece instead of cut by the box faces."""
    from .geometry import wrap

    c = clusters.largest_nonspanning(min_size)
    if c is None:
        return positions
    centre = clusters.cluster_configuration(c)[0].mean(axis=0)
    return wrap(positions - centre, box)


def plot_crystallites(path_png, positions, orientations, box, clusters=None, title="", edges=None):  # noqa: PLR0913 (a picture, by name)
    """Draw every cube in 3D coloured by crystallinity; returns the computed CrystalClusters.
    `edges`: (N, 3) edge lengths of polydisperse cuboids (default: unit cubes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    box = np.asarray(box, dtype=float)[:3]
    pos = np.asarray(positions, dtype=float)[:, :3]
    q = np.asarray(orientations, dtype=float)
    cc = (clusters or CrystalClusters()).compute(box, pos, q)
    pos = centred_positions(cc, pos, box)
    colours = crystallinity_colours(cc)
    rot = quaternion_matrices(q / np.linalg.norm(q, axis=1, keepdims=True))
    lengths = np.ones((len(pos), 3)) if edges is None else np.asarray(edges, dtype=float)
    corners = np.einsum("nij,nvj->nvi", rot, _VERTICES[None] * lengths[:, None, :]) + pos[:, None, :]
    faces = corners[:, _FACES, :].reshape(-1, 4, 3)
    fig = plt.figure(figsize=(6.4, 6.0))
    ax = fig.add_subplot(1, 1, 1, projection="3d")
    lines = np.where(np.repeat(cc.crystalline, 6)[:, None], [[0, 0, 0, 0.4]], [[0, 0, 0, 0.05]])
    ax.add_collection3d(
        Poly3DCollection(faces, facecolors=np.repeat(colours, 6, axis=0), edgecolors=lines, linewidths=0.2)
    )
    half = box / 2 + 0.5
    for axis, set_lim in enumerate((ax.set_xlim, ax.set_ylim, ax.set_zlim)):
        set_lim(-half[axis], half[axis])
    ax.set_box_aspect(tuple(box))
    ax.set_axis_off()
    ax.view_init(elev=22, azim=-60)
    ax.set_title(f"{title}\n{legend_text(cc)}", fontsize=9)
    fig.savefig(path_png, dpi=110)
    plt.close(fig)
    return cc


class CrystalliteWriter(Analyzer):
    """Draws the last frame computed with plot_crystallites into `outfile`; the summary gives
    its path as ``crystallites_png`` (as OrthosliceWriter gives ``orthoslice_png``)."""

    def __init__(self, outfile, **cluster_options):
        super().__init__(0.0)
        self.outfile, self.cluster_options, self._last = str(outfile), cluster_options, None

    def compute(self, frame):
        self._last = frame
        return self

    @property
    def summary(self):
        f = self._last
        if f is None:
            return {}
        beta, well = attraction(f)
        title = f"step {f.step}, N = {f.N}"
        if beta is not None and well is not None:
            title += f", βε = {beta:g}, λ = {well:g}"
        clusters = CrystalClusters(**self.cluster_options)
        plot_crystallites(self.outfile, f.positions, f.orientations, f.box, clusters, title)
        return {"crystallites_png": self.outfile}
