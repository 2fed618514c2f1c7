"""Configurations of cubes in a periodic orthorhombic box, and the ways to make them."""

import math
import os

import numpy as np

from . import pairs, shapes, targets, validate
from .errors import InputError, OverlapError
from .geometry import CIRCUMSPHERE_DIAMETER, cell_grid, min_box_edge, random_quaternions


class State:
    """Positions (N, 3), unit quaternions (N, 4) as (w, x, y, z) and box edges (3,), all float64,
    and the particle shape: a registered shape name (cubemc.shapes) with per-particle parameters
    (N, P) (none for the unit cube).

    Constructing a State checks shapes and values, wraps positions into [-L/2, L/2), normalises
    the quaternions and (unless check=False) refuses overlapping particles with an OverlapError.
    """

    def __init__(self, positions, orientations, box, check=True, shape="cube", shape_params=None):  # noqa: PLR0913 (configuration plus shape, by name)
        box = np.array(box, np.float64).reshape(-1)
        if box.shape != (3,) or not np.all(np.isfinite(box)) or np.any(box <= 0):
            raise InputError(f"box must be three positive finite edge lengths, got {box.tolist()}")
        pos = np.array(positions, np.float64)
        quat = np.array(orientations, np.float64)
        if pos.ndim != 2 or pos.shape[1] != 3 or pos.shape[0] < 1:
            raise InputError(f"positions must have shape (N, 3) with N >= 1, got {pos.shape}")
        if quat.shape != (pos.shape[0], 4):
            raise InputError(f"orientations must have shape ({pos.shape[0]}, 4), got {quat.shape}")
        if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(quat))):
            raise InputError("positions and orientations must be finite numbers")
        norm = np.linalg.norm(quat, axis=1)
        if np.any(norm < 1e-6):
            raise InputError("orientation quaternions must be non-zero")
        self.positions = pos - box * np.floor(pos / box + 0.5)
        # renormalise only visibly non-unit quaternions: dividing by a norm 1 +- ulp would change
        # the last bits and break bit-exact restarts from float64 checkpoints
        off = np.abs(norm - 1.0) > 1e-12
        quat[off] /= norm[off, None]
        self.orientations = quat
        self.box = box
        self.shape = shape
        self.shape_params = _shape_params(shapes.get(shape), shape_params, pos.shape[0])
        if check:
            self.check_overlaps()

    @property
    def N(self):
        return self.positions.shape[0]

    @property
    def volume(self):
        return float(np.prod(self.box))

    @property
    def packing_fraction(self):
        """Volume fraction of the particles (N / V for unit cubes)."""
        if self.shape == "cube":
            return self.N / self.volume
        return float(np.sum(shapes.get(self.shape).volumes(self.shape_params, self.N))) / self.volume

    @property
    def sizes(self):
        """Particle sizes s (N,), the length scale of the pair energy (1 for unit cubes)."""
        return shapes.sizes(shapes.get(self.shape), self.shape_params, self.N)

    def copy(self):
        return State(
            self.positions.copy(),
            self.orientations.copy(),
            self.box.copy(),
            check=False,
            shape=self.shape,
            shape_params=self.shape_params.copy(),
        )

    def with_positions(self, positions, check=False):
        """A State of this one's orientations, box and shape with particles at `positions`
        (built by the constructor: arrays copied, positions wrapped; `check` refuses overlaps)."""
        return State(
            positions,
            self.orientations,
            self.box,
            check=check,
            shape=self.shape,
            shape_params=self.shape_params,
        )

    def _kernels(self):
        return targets.cpu(shapes.get(self.shape), pairs.square_well)

    def count_pairs(self, well_range=0.0):
        """(bonds inside `well_range`, overlapping pairs), counted from scratch."""
        shape = shapes.get(self.shape)
        try:
            grid, cap = cell_grid(self.box, well_range, shape, self.shape_params)
        except ValueError as err:
            raise InputError(str(err)) from None
        bonds, overlaps = self._kernels().count_pairs(
            self.positions,
            self.orientations,
            self.shape_params,
            self.box,
            grid,
            cap,
            np.array(pairs.square_well.parameters(well_range, shapes.max_size(shape, self.shape_params))),
        )
        if bonds < 0:  # a cell held more particles than non-overlapping ones can
            overlaps = max(overlaps, 1)
        return int(bonds), int(overlaps)

    def check_overlaps(self):
        """Raise OverlapError naming one overlapping pair if any particles overlap or touch."""
        _, overlaps = self.count_pairs()
        if overlaps:
            i, j = self._kernels().first_overlap(
                self.positions, self.orientations, self.shape_params, self.box, np.zeros(2)
            )
            what = "cubes" if self.shape == "cube" else "particles"
            raise OverlapError(
                f"the configuration has overlapping {what} ({overlaps} overlapping pair(s), e.g. "
                f"{what} {i} and {j} at {np.round(self.positions[i], 4).tolist()} and "
                f"{np.round(self.positions[j], 4).tolist()})"
            )

    # ------------------------------------------------------------------ builders
    @classmethod
    def simple_cubic(cls, n, packing_fraction, vacancies=0, vacancy_sites=None, seed=0):
        """n x n x n simple-cubic crystal of aligned cubes, lattice constant phi**(-1/3).

        `packing_fraction` is that of the full lattice; removing `vacancies` random sites (or the
        flat site indices in `vacancy_sites`, k = (ix*n + iy)*n + iz) lowers N but not the box.
        """
        n = validate.positive_int("n", n)
        phi = validate.fraction("packing_fraction", packing_fraction)
        a = phi ** (-1.0 / 3.0)
        box = n * a
        smallest = min_box_edge(CIRCUMSPHERE_DIAMETER)
        if box < smallest:
            raise InputError(
                f"a {n}x{n}x{n} lattice at packing fraction {phi} gives a box of "
                f"{box:.3f}, smaller than the minimum {smallest:.3f}; "
                f"use n >= {math.ceil(smallest / a)}"
            )
        sites = n**3
        if vacancy_sites is not None:
            removed = np.unique(np.asarray(vacancy_sites, np.int64).reshape(-1))
            if removed.size != len(np.asarray(vacancy_sites).reshape(-1)):
                raise InputError("vacancy_sites contains repeated sites")
            if removed.size and (removed.min() < 0 or removed.max() >= sites):
                raise InputError(f"vacancy_sites must lie in [0, {sites - 1}]")
        else:
            k = validate.nonnegative_int("vacancies", vacancies)
            if k >= sites:
                raise InputError(f"cannot remove {k} cubes from a lattice of {sites} sites")
            rng = np.random.default_rng(validate.seed(seed))
            removed = np.sort(rng.choice(sites, size=k, replace=False))
        if removed.size >= sites:
            raise InputError("at least one cube must remain")
        g = (np.arange(n) + 0.5) * a - box / 2
        pos = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
        pos = np.delete(pos, removed, axis=0)
        quat = np.zeros((pos.shape[0], 4))
        quat[:, 0] = 1.0
        return cls(pos, quat, [box, box, box])

    @classmethod
    def fluid(cls, n_particles, packing_fraction, seed=0, max_sweeps=20000):
        """Hard-cube fluid at `packing_fraction`: random cubes on a sparse lattice, then compressed.

        Compression alternates small uniform box shrinks with hard-cube Monte Carlo that removes
        the overlaps they create (on the CPU).  Raises InputError if the target is not reached
        within `max_sweeps`.
        """
        from .compress import compress_fluid

        n = validate.positive_int("n_particles", n_particles)
        phi = validate.fraction("packing_fraction", packing_fraction)
        box_target = (n / phi) ** (1.0 / 3.0)
        if box_target < min_box_edge(CIRCUMSPHERE_DIAMETER):
            raise InputError(
                f"{n} cubes at packing fraction {phi} give a box of {box_target:.3f}, "
                f"smaller than the minimum {min_box_edge(CIRCUMSPHERE_DIAMETER):.3f}; "
                "use more cubes"
            )
        rng = np.random.default_rng(validate.seed(seed))
        m = math.ceil(n ** (1.0 / 3.0) - 1e-9)
        spacing = max(box_target / m, 1.001 * CIRCUMSPHERE_DIAMETER)  # random cubes cannot touch
        box = m * spacing
        g = (np.arange(m) + 0.5) * spacing - box / 2
        sites = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
        pos = sites[np.sort(rng.choice(len(sites), size=n, replace=False))]
        state = cls(pos, random_quaternions(rng, n), [box, box, box])
        if box > box_target:
            state = compress_fluid(
                state,
                box_target,
                seed=validate.seed(seed),
                max_sweeps=validate.positive_int("max_sweeps", max_sweeps),
            )
        return state

    @classmethod
    def from_gsd(cls, path, frame=-1):
        """Load one frame of a GSD file (HOOMD's or ours), with its particle shapes (unit cubes,
        cuboids or rounded cuboids from particles/type_shapes); refuses overlaps and other shapes."""
        from .trajectory import read_frame

        if not os.path.isfile(path):
            raise InputError(f"no such GSD file: {path}")
        pos, quat, box, shape, params = read_frame(path, frame, with_shape=True)
        if shape == "cube":
            return cls(pos, quat, box)
        return cls(pos, quat, box, shape=shape, shape_params=params)


def _shape_params(shape, params, n):
    """(n, P) float64 shape parameters, checked: None means none (shapes without parameters);
    one row of P values applies to every particle."""
    n_params = max(shape.N_PARAMS, 1)  # the kernels want at least one column
    if params is None:
        if shape.N_PARAMS:
            raise InputError(
                f"shape {shape.NAME!r} needs shape_params ({shape.N_PARAMS} numbers per particle)"
            )
        return np.zeros((n, n_params))
    p = np.array(params, np.float64)
    if p.size == n_params and n != 1:
        p = np.tile(p.reshape(-1), (n, 1))
    elif p.size == n * n_params:
        p = p.reshape(n, n_params)
    else:
        raise InputError(
            f"shape_params of shape {shape.NAME!r} must have shape ({n}, {n_params}) "
            f"or ({n_params},), got {p.shape}"
        )
    if not np.all(np.isfinite(p)):
        raise InputError("shape_params must be finite numbers")
    if hasattr(shape, "check"):
        shape.check(p)
    return p
