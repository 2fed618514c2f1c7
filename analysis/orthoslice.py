"""Orthoslices through a vacancy (the simulation counterpart of tomogram slices, seed 000 Fig. 4).

Each panel shows the cubes of one lattice layer through the vacancy (layer membership comes
from the site mapping, so a tilted or displaced cube is still shown in its own layer),
centred on the vacancy with periodic images folded in. Each cube is drawn as a unit square
turned by its rotation about the slice normal; displaced cubes are coloured differently and
empty sites are marked. The window shows one box period plus a margin, and cubes (and empty
sites) within that margin of the opposite edge are drawn again as periodic images there, so a
layer cut by the box edge looks as full as it is instead of showing false holes at the edges.
"""

import numpy as np

from .geometry import minimum_image
from .orientation import inplane_angles
from .vacancy import LatticeVacancies

__all__ = ["orthoslice_data", "periodic_images", "plot_orthoslices"]

PLANES = {"xy": (0, 1), "xz": (0, 2), "yz": (1, 2)}
#: window margin beyond half a box edge (sigma); images are kept while any part of their unit
#: square (half diagonal sqrt(2)/2) can reach into the window
WINDOW_MARGIN = 0.6
IMAGE_MARGIN = WINDOW_MARGIN + np.sqrt(2) / 2


def periodic_images(xy, period, margin=IMAGE_MARGIN):
    """Periodic images of in-plane points that fall inside the window |u|, |v| <= period/2 + margin.

    `xy` (n, 2) holds minimum-image coordinates (each in [-period/2, period/2]); `period` the
    two box edges. Returns (index, shifted) with index (m,) into `xy` and shifted (m, 2) the
    image positions (the points themselves are not repeated; corners get up to 3 images).
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    period = np.asarray(period, dtype=float)
    half = period / 2 + margin
    idx, out = [], []
    for shift in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)):
        moved = xy + np.asarray(shift) * period
        inside = np.all(np.abs(moved) <= half, axis=1)
        idx.append(np.flatnonzero(inside))
        out.append(moved[inside])
    return np.concatenate(idx).astype(int), np.concatenate(out)


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
    bool, "empty" (m, 2), "center_site", and the periodic images near the window edges
    (periodic_images): "image_of" (k,) indices into "xy" with their positions "image_xy"
    (k, 2), and "empty_images" (j, 2).
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
    xy = rel[in_layer][:, [u, v]]
    period = np.asarray(lattice.box, dtype=float)[[u, v]]
    image_of, image_xy = periodic_images(xy, period)
    return {
        "xy": xy,
        "angle": inplane_angles(q, (u, v)) if len(q) else np.zeros(0),
        "displaced": lattice.displaced[in_layer],
        "empty": empty_rel[:, [u, v]],
        "center_site": center_site,
        "image_of": image_of,
        "image_xy": image_xy,
        "empty_images": periodic_images(empty_rel[:, [u, v]], period)[1],
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
        # Cubes and their periodic images near the edges (images in the same colours).
        centres = np.concatenate([d["xy"], d["image_xy"]])
        which = np.concatenate([np.arange(len(d["xy"])), d["image_of"]]).astype(int)
        polys = [_square(p, t) for p, t in zip(centres, d["angle"][which], strict=True)]
        colours = np.where(d["displaced"][which], "tab:orange", "lightsteelblue")
        ax.add_collection(PolyCollection(polys, facecolors=colours, edgecolors="k", linewidths=0.4))
        for e in np.concatenate([d["empty"], d["empty_images"]]):
            ax.add_patch(plt.Polygon(_square(e, 0.0), fill=False, ec="tab:red", ls="--", lw=1.2))
            ax.plot(*e, marker="x", color="tab:red", ms=8, mew=2)
        u, v = PLANES[plane]
        ax.set_xlim(-box[u] / 2 - WINDOW_MARGIN, box[u] / 2 + WINDOW_MARGIN)
        ax.set_ylim(-box[v] / 2 - WINDOW_MARGIN, box[v] / 2 + WINDOW_MARGIN)
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
