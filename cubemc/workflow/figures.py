"""Per-job figures (energy trace, snapshot) and the project overview, drawn with matplotlib.

Uses the object-oriented matplotlib API with the Agg canvas, so no display and no global
backend switch are needed.
"""

from __future__ import annotations

import os

import numpy as np

from cubemc.analysis.stats import block_average
from cubemc.geometry import CUBE_VERTICES, quaternion_matrices

from .eos import control_label

ENERGY_PNG = "energy.png"
SNAPSHOT_PNG = "snapshot.png"

#: the six faces as indices into cubemc.geometry.CUBE_VERTICES (x slowest, z fastest)
_CUBE_FACES = (
    (0, 1, 3, 2),
    (4, 5, 7, 6),
    (0, 1, 5, 4),
    (2, 3, 7, 6),
    (0, 2, 6, 4),
    (1, 3, 7, 5),
)


def _figure(width=6.4, height=4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    tmp = path + ".tmp.png"
    fig.savefig(tmp, bbox_inches="tight")
    os.replace(tmp, path)


def read_energy_log(path):
    """Return ``(sweeps, energy, bonds)`` arrays from the per-frame logs of a cubemc GSD file
    (NaN where a frame did not log a quantity; files of any cubemc version)."""
    from cubemc import trajectory

    if not os.path.exists(path):
        return np.zeros(0), np.zeros(0), np.zeros(0)
    steps, log = trajectory.steps_and_logs(path, "log/cubemc/")
    sweeps = np.asarray(steps, dtype=float)
    energy, bonds = (log.get(key, np.full(len(sweeps), np.nan)) for key in ("energy", "bonds"))
    return sweeps, energy, bonds


def energy_statistics(energy_per_particle) -> dict:
    """Mean of a time series with its block-averaged standard error (cubemc.analysis.stats)."""
    est = block_average(energy_per_particle)
    if not est.frames:
        return {"mean": None, "sem": None, "frames": 0, "effective": 0.0}
    sem = est.sem if np.isfinite(est.sem) else None
    return {"mean": est.mean, "sem": sem, "frames": est.frames, "effective": est.effective}


def plot_energy_trace(path_png, equilibration_gsd, trajectory_gsd, n_particles, title=""):
    """Energy per cube against sweep; burn-in in grey, production in colour."""
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    s_eq, e_eq, _ = read_energy_log(equilibration_gsd)
    s_pr, e_pr, _ = read_energy_log(trajectory_gsd)
    if s_eq.size:
        ax.plot(s_eq, e_eq / n_particles, color="0.6", lw=1, label="burn-in")
    if s_pr.size:
        ax.plot(s_pr, e_pr / n_particles, color="C0", lw=1, label="production")
        ax.axvline(s_pr[0], color="k", lw=0.5, ls=":")
    ax.set_xlabel("sweep")
    ax.set_ylabel(r"$\beta U / N$")
    ax.set_title(title, fontsize=9)
    if s_eq.size or s_pr.size:
        ax.legend(loc="best", fontsize=8)
    _save(fig, path_png)


def bonds_per_cube(positions, box, well_range):
    """Number of cubes whose centre lies within ``well_range`` of each cube (periodic box)."""
    from scipy.spatial import cKDTree

    box = np.asarray(box, dtype=float)[:3]
    wrapped = np.mod(np.asarray(positions, dtype=float) + box / 2, box)
    wrapped = np.minimum(wrapped, np.nextafter(box, 0))  # cKDTree needs [0, L)
    tree = cKDTree(wrapped, boxsize=box)
    pairs = tree.query_pairs(r=float(well_range), output_type="ndarray")
    counts = np.zeros(len(wrapped), dtype=int)
    if len(pairs):
        np.add.at(counts, pairs[:, 0], 1)
        np.add.at(counts, pairs[:, 1], 1)
    return counts


def plot_snapshot(path_png, positions, orientations, box, well_range, title="", max_cubes=1500):
    """Draw the cubes in 3D, coloured by their number of well partners.

    Large systems are cut to a slab through the middle (stated in the title) to keep the
    drawing legible and fast.
    """
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    positions = np.asarray(positions, dtype=float)
    box = np.asarray(box, dtype=float)[:3]
    counts = bonds_per_cube(positions, box, well_range)
    keep = np.arange(len(positions))
    note = ""
    if len(positions) > max_cubes:
        order = np.argsort(np.abs(positions[:, 1]))
        keep = np.sort(order[:max_cubes])
        note = f" (slab of {len(keep)} of {len(positions)} cubes)"
    q = np.asarray(orientations, dtype=float)[keep]
    rot = quaternion_matrices(q / np.linalg.norm(q, axis=1, keepdims=True))
    corners = np.einsum("nij,vj->nvi", rot, CUBE_VERTICES) + positions[keep][:, None, :]
    faces = corners[:, _CUBE_FACES, :].reshape(-1, 4, 3)
    top = max(6, int(counts.max()) if counts.size else 6)
    cmap = colormaps["viridis"].resampled(top + 1)
    norm = BoundaryNorm(np.arange(-0.5, top + 1.5), cmap.N)
    colours = cmap(norm(np.repeat(counts[keep], 6)))

    fig = _figure(6.4, 6.0)
    ax = fig.add_subplot(1, 1, 1, projection="3d")
    ax.add_collection3d(
        Poly3DCollection(faces, facecolors=colours, edgecolors=(0, 0, 0, 0.25), linewidths=0.2)
    )
    half = box / 2 + 0.5
    ax.set_xlim(-half[0], half[0])
    ax.set_ylim(-half[1], half[1])
    ax.set_zlim(-half[2], half[2])
    ax.set_box_aspect(tuple(box))
    ax.set_axis_off()
    ax.view_init(elev=22, azim=-60)
    from matplotlib.cm import ScalarMappable

    sm = ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, shrink=0.6, label="cubes inside the well", ticks=range(top + 1))
    ax.set_title(title + note, fontsize=9)
    _save(fig, path_png)


def plot_overview(path_png, rows):
    """Project overview: well partners per cube against beta*eps, one line per (start, phi or pressure, N).

    ``rows`` are dicts with ``statepoint`` and ``bonds_per_cube`` ({"mean", "sem"}) per job;
    replicas are averaged, with the standard error across replicas when there are several.
    (Bonds rather than energy: beta*U is zero for hard cubes whatever the structure.)
    """
    groups: dict = {}
    for row in rows:
        sp, stats = row["statepoint"], row.get("bonds_per_cube") or {}
        if stats.get("mean") is None:
            continue
        key = (sp["initial_state"], control_label(sp), sp["N"], sp["well_range"])
        groups.setdefault(key, {}).setdefault(sp["beta_epsilon"], []).append(stats["mean"])
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    for i, (key, by_beta) in enumerate(sorted(groups.items())):
        betas = np.array(sorted(by_beta))
        means = np.array([np.mean(by_beta[b]) for b in betas])
        errs = np.array(
            [
                np.std(by_beta[b], ddof=1) / np.sqrt(len(by_beta[b])) if len(by_beta[b]) > 1 else 0.0
                for b in betas
            ]
        )
        label = f"{key[0]}, {key[1]}, N={key[2]}, well={key[3]}"
        ax.errorbar(betas, means, yerr=errs, marker="o", ms=4, capsize=2, color=f"C{i % 10}", label=label)
    ax.set_xlabel(r"$\beta\epsilon$")
    ax.set_ylabel("bonds per cube (production mean)")
    ax.set_title("square-well bonds per cube across jobs", fontsize=9)
    if groups:
        ax.legend(fontsize=7, loc="best")
    _save(fig, path_png)
