"""Orthoslices through a vacancy (the simulation counterpart of tomogram slices, seed 000 Fig. 4).

Each panel shows the cubes of one lattice layer through the vacancy (layer membership comes
from the site mapping, so a tilted or displaced cube is still shown in its own layer),
centred on the vacancy with periodic images folded in. Each cube is drawn as a unit square
turned by its rotation about the slice normal; displaced cubes are coloured differently and
empty sites are marked.
"""

import numpy as np

from .geometry import minimum_image
from .orientation import inplane_angles
from .vacancy import LatticeVacancies

__all__ = ["orthoslice_data", "plot_orthoslices"]

PLANES = {"xy": (0, 1), "xz": (0, 2), "yz": (1, 2)}


def _square(center, angle_deg, edge=1.0):
    t = np.radians(angle_deg)
    c, s = np.cos(t), np.sin(t)
    corners = 0.5 * edge * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]])
    return center + corners @ np.array([[c, s], [-s, c]])


def orthoslice_data(positions, orientations, lattice, plane="xy", center_site=None):
    """Cubes and empty sites of the lattice layer through `center_site` for one plane.

    `lattice` is a computed LatticeVacancies. `center_site` defaults to the first empty site
    (else the site nearest the box centre). Returns a dict with in-plane coordinates
    relative to the centre site: "xy" (n, 2), "angle" (n,) in degrees, "displaced" (n,)
    bool, "empty" (m, 2), "center_site".
    """
    u, v = PLANES[plane]
    normal = 3 - u - v
    if center_site is None:
        if len(lattice.empty_sites):
            center_site = int(lattice.empty_sites[0])
        else:
            center_site = int(np.argmin(np.linalg.norm(lattice.sites, axis=1)))
    c = lattice.sites[center_site]
    layer_of_site = np.rint(
        minimum_image(lattice.sites - c, lattice.box)[:, normal] / lattice.a[normal]
    ).astype(int)
    in_layer = layer_of_site[lattice.site_of] == 0
    rel = minimum_image(np.asarray(positions, dtype=float)[:, :3] - c, lattice.box)
    empty = [s for s in lattice.empty_sites if layer_of_site[s] == 0]
    empty_rel = minimum_image(lattice.sites[empty] - c, lattice.box) if empty else np.zeros((0, 3))
    q = np.asarray(orientations, dtype=float)[in_layer]
    return {
        "xy": rel[in_layer][:, [u, v]],
        "angle": inplane_angles(q, (u, v)) if len(q) else np.zeros(0),
        "displaced": lattice.displaced[in_layer],
        "empty": empty_rel[:, [u, v]],
        "center_site": center_site,
    }


def plot_orthoslices(
    positions, orientations, box, lattice=None, center_site=None, outfile=None, title=None, n_cells=None
):
    """Three panels (xy, xz, yz) through the vacancy; returns the Figure (saved if `outfile`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    if lattice is None:
        lattice = LatticeVacancies(box, n_cells=n_cells, n_particles=len(positions)).compute(positions)
    box = np.asarray(box, dtype=float)[:3]
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.3))
    for ax, plane in zip(axes, PLANES, strict=False):
        d = orthoslice_data(positions, orientations, lattice, plane, center_site)
        polys = [_square(p, t) for p, t in zip(d["xy"], d["angle"], strict=False)]
        colours = np.where(d["displaced"], "tab:orange", "lightsteelblue")
        ax.add_collection(PolyCollection(polys, facecolors=colours, edgecolors="k", linewidths=0.4))
        for e in d["empty"]:
            ax.add_patch(plt.Polygon(_square(e, 0.0), fill=False, ec="tab:red", ls="--", lw=1.2))
            ax.plot(*e, marker="x", color="tab:red", ms=8, mew=2)
        u, v = PLANES[plane]
        ax.set_xlim(-box[u] / 2 - 0.6, box[u] / 2 + 0.6)
        ax.set_ylim(-box[v] / 2 - 0.6, box[v] / 2 + 0.6)
        ax.set_aspect("equal")
        ax.set_xlabel("xyz"[u] + r" ($\sigma$)")
        ax.set_ylabel("xyz"[v] + r" ($\sigma$)")
        ax.set_title(f"{plane} slice: {int(d['displaced'].sum())} displaced, {len(d['empty'])} empty")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if outfile is not None:
        fig.savefig(outfile, dpi=110)
        plt.close(fig)
    return fig
