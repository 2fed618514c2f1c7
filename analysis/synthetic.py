"""Synthetic configurations and time series with known answers (for tests and for checking
the analysis).

GSD frames are written with the engine's own frame writer (`cubemc.trajectory.make_frame`),
so the trajectory driver is exercised on exactly the format the engine produces.
"""

import numpy as np

from cubemc.geometry import quaternion_matrices, random_quaternions

from .geometry import lattice_sites, minimum_image, quat_from_axis_angle, quat_multiply, site_index


def crystal_with_vacancy(n=10, packing_fraction=0.8, vacancy=(4, 5, 6)):
    """SC crystal (engine convention) with one vacancy; returns positions, box, vacancy index."""
    a = packing_fraction ** (-1.0 / 3.0)
    box = np.full(3, n * a)
    sites = lattice_sites(n, box)
    v = int(site_index(vacancy, n))
    keep = np.arange(len(sites)) != v
    return sites[keep], box, v


def push_row(positions, box, n, vacancy, axis, side, count, fraction):
    """Move `count` cubes next to `vacancy` (on `side` = +1/-1 along `axis`) toward it.

    Each is shifted by `fraction` of a lattice constant. Returns new positions.
    """
    pos = np.array(positions, dtype=float)
    box = np.asarray(box, dtype=float)
    a = box[axis] / n
    sites = lattice_sites(n, box)
    for k in range(1, count + 1):
        c = np.array(vacancy)
        c[axis] += side * k
        s = sites[site_index(c, n)]
        j = np.argmin(np.linalg.norm(minimum_image(pos - s, box), axis=1))
        pos[j, axis] -= side * fraction * a
    return pos


def share_vacancy(positions, box, n, vacancy, axis, m):
    """Spread a vacancy over a row of m sites (m odd, centred on it), as in hard-cube crystals.

    The m - 1 cubes of the row are placed evenly over the row's length m a.
    """
    pos = np.array(positions, dtype=float)
    box = np.asarray(box, dtype=float)
    a = box[axis] / n
    sites = lattice_sites(n, box)
    h = (m - 1) // 2
    offsets = [k for k in range(-h, h + 1) if k != 0]
    centre = sites[site_index(vacancy, n)]
    for i, k in enumerate(offsets):
        c = np.array(vacancy)
        c[axis] += k
        j = np.argmin(np.linalg.norm(minimum_image(pos - sites[site_index(c, n)], box), axis=1))
        target = -m * a / 2 + (i + 0.5) * m * a / (m - 1)
        pos[j] = centre
        pos[j, axis] += target
    return pos - box * np.floor(pos / box + 0.5)


def small_rotations(n, sigma_deg, rng):
    """Quaternions of rotations with Gaussian components (sigma in degrees per axis)."""
    rot = rng.normal(0.0, np.radians(sigma_deg), (n, 3))
    ang = np.linalg.norm(rot, axis=1)
    return quat_from_axis_angle(rot + 1e-15, ang)


def crystallite(shape, a, center, orientation):
    """Block of shape (nx, ny, nz) of SC sites turned by `orientation`; cubes co-rotated."""
    idx = np.stack(np.meshgrid(*(np.arange(k) for k in shape), indexing="ij"), -1).reshape(-1, 3)
    local = (idx - (np.asarray(shape) - 1) / 2.0) * a
    R = quaternion_matrices(np.asarray(orientation, dtype=float)[None])[0]
    pos = local @ R.T + np.asarray(center, dtype=float)
    q = np.tile(orientation, (len(pos), 1))
    return pos, q


def sphere_crystallite(radius_sites, a, center, orientation):
    """SC sites within `radius_sites` lattice constants of the centre (a sphere-shaped grain)."""
    m = int(np.ceil(radius_sites)) * 2 + 1
    pos, q = crystallite((m, m, m), a, np.zeros(3), orientation)
    keep = np.linalg.norm(pos, axis=1) <= radius_sites * a + 1e-9
    return pos[keep] + np.asarray(center, dtype=float), q[keep]


def random_fluid(n, box, min_distance, rng, exclude=None, exclude_distance=0.0, max_tries=200000):
    """Random sequential addition of points at least `min_distance` apart (periodic box).

    Points closer than `exclude_distance` to any point of `exclude` are rejected, so a
    background can be laid around existing crystallites.
    """
    box = np.asarray(box, dtype=float)
    pts = []
    tries = 0
    ex = np.zeros((0, 3)) if exclude is None else np.asarray(exclude, dtype=float)
    while len(pts) < n and tries < max_tries:
        tries += 1
        p = rng.uniform(-box / 2, box / 2)
        if len(ex) and (np.linalg.norm(minimum_image(ex - p, box), axis=1) < exclude_distance).any():
            continue
        if pts and (np.linalg.norm(minimum_image(np.array(pts) - p, box), axis=1) < min_distance).any():
            continue
        pts.append(p)
    return np.array(pts).reshape(-1, 3)


def two_crystallites_in_fluid(rng, box_length=16.0, shapes=((5, 5, 5), (4, 4, 4)), a=1.05, n_fluid=600):
    """Two randomly oriented SC crystallites in a random fluid; returns box, pos, q, labels.

    labels: 0 and 1 for the crystallites, -1 for fluid cubes (random orientations).
    """
    box = np.full(3, box_length)
    centers = [np.array([-box_length / 4, 0.0, 0.0]), np.array([box_length / 4, 0.0, 0.0])]
    pos, q, lab = [], [], []
    for k, (shape, c) in enumerate(zip(shapes, centers, strict=False)):
        p, qq = crystallite(shape, a, c, random_quaternions(rng, 1)[0])
        pos.append(p)
        q.append(qq)
        lab.append(np.full(len(p), k))
    cryst = np.concatenate(pos)
    fluid = random_fluid(n_fluid, box, 1.0, rng, exclude=cryst, exclude_distance=1.5)
    pos.append(fluid)
    q.append(random_quaternions(rng, len(fluid)))
    lab.append(np.full(len(fluid), -1))
    pos = np.concatenate(pos)
    pos = pos - box * np.floor(pos / box + 0.5)
    return box, pos, np.concatenate(q), np.concatenate(lab)


def gsd_frame(
    step, box, positions, orientations, energy=None, bonds=None, beta_epsilon=None, well_range=1.14
):
    """A gsd.hoomd.Frame in the cubemc trajectory format; logs not given are NaN."""
    from cubemc.contract import LOG_KEYS
    from cubemc.trajectory import make_frame

    given = {
        "sweep": step,
        "energy": energy,
        "bonds": bonds,
        "beta_epsilon": beta_epsilon,
        "well_range": well_range,
        "seed": 0,
    }
    log = {key: np.nan if given.get(key, None) is None else given[key] for key in LOG_KEYS}
    return make_frame(
        np.asarray(positions, dtype=float), np.asarray(orientations, dtype=float), box, step, log
    )


def write_gsd(path, frames):
    """Write a list of gsd frames to `path`."""
    import gsd.hoomd

    with gsd.hoomd.open(path, "w") as t:
        for f in frames:
            t.append(f)
    return path


def rotate_all(q, rotation):
    """Apply a lab-frame rotation quaternion to every orientation."""
    return quat_multiply(np.asarray(rotation)[None, :], q)


def correlated_series(n, correlation, rng, mean=0.0, sigma=1.0):
    """AR(1) series x_t = c x_(t-1) + noise with stationary mean and standard deviation.

    Its mean has the standard error sigma sqrt((1 + c) / ((1 - c) n)) for long series, i.e.
    n (1 - c) / (1 + c) effective samples: the known answer for block averaging.
    """
    noise = rng.normal(0.0, sigma * np.sqrt(1.0 - correlation**2), n)
    x = np.empty(n)
    x[0] = rng.normal(0.0, sigma)
    for t in range(1, n):
        x[t] = correlation * x[t - 1] + noise[t]
    return mean + x


def vacancy_job(
    beta_epsilon, excess, bulk=0.1, frames=400, correlation=0.5, noise=0.1, n_cells=10, replica=0, seed=0
):
    """A job summary of a crystal run with synthetic vacancy series of known means.

    The per-frame excess line shift is an AR(1) series with mean `excess`, standard deviation
    `noise` and lag-one correlation `correlation`; the bulk floor is constant `bulk`; the row
    length follows the line shift as for a vacancy shared evenly (1 + 4 x excess sites).
    """
    rng = np.random.default_rng(seed + 7919 * replica)
    excess_series = correlated_series(frames, correlation, rng, excess, noise)
    bulk_series = np.full(frames, float(bulk))
    rows = np.clip(np.rint(1 + 4 * np.maximum(excess_series, 0.0)), 1, n_cells - 1).astype(int)
    n = n_cells**3 - 1
    return {
        "statepoint": {
            "beta_epsilon": beta_epsilon,
            "packing_fraction": 0.8,
            "well_range": 1.14,
            "N": n,
            "n_lattice": n_cells,
            "initial_state": "crystal_vacancy",
            "replica": replica,
        },
        "summary": {
            "N": n,
            "discard": 0.0,
            "lattice": True,
            "n_frames": frames,
            "vacancy": {"n_cells": [n_cells] * 3, "long_row_sites": 4, "hops_per_sweep": 0.0},
        },
        "series": {
            "step": list(range(0, 100 * frames, 100)),
            "line_shift": (excess_series + bulk_series).tolist(),
            "bulk_line_shift": bulk_series.tolist(),
            "row_length": rows.tolist(),
        },
    }
