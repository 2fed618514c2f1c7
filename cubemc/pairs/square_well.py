"""Square well between particle centres: a non-overlapping pair closer than its well range counts
one bond; beta*U = beta_epsilon * bonds, kept as an exact integer count.

The well range of a pair scales with the pair's mean size: lambda * (s_i + s_j) / 2, with s the
particle size of the shape (1 for the unit cube; see docs/model-shapes.md).  A pair-energy module
gives the kernels integer interaction *units* per pair (the energy is coupling * units), so
energies never drift; see cubemc/pairs/__init__.py for the contract.
"""

import math

NAME = "square_well"
#: the energy depends on the centre distance only, so rotations never change it
ISOTROPIC = True
#: per-system parameters passed to the kernels: (lambda**2, reach of the largest pair)
N_PARAMS = 2


def parameters(well_range, max_size=1.0):
    """Kernel parameters (a tuple of floats): lambda^2 and lambda * max_size, the centre distance
    beyond which no pair of particles of size <= max_size interacts.

    The reach is sqrt(lambda^2) * max_size, so for unit particles it is exactly the value the
    kernels computed before sizes existed (bit-exact trajectories).
    """
    well2 = float(well_range) ** 2
    return (well2, math.sqrt(well2) * float(max_size))


def cutoff(well_range):
    """Largest centre distance at which the energy of two particles of size 1 can be non-zero
    (cubemc.geometry.cell_grid multiplies it by the largest particle size)."""
    return float(well_range)


def make(jit):
    @jit
    def units_sized(dx, dy, dz, r2, mi, quat, j, pair_params, scale):
        """Bonds of a non-overlapping pair (0 or 1) whose mean size is `scale`: particle j
        (orientation quat[j]) at offset (dx, dy, dz), r2 = |d|^2, from a particle with rotation
        matrix mi.  The well is lambda * scale wide; scale = 1.0 multiplies exactly."""
        return 1 if r2 < pair_params[0] * (scale * scale) else 0

    @jit
    def units(dx, dy, dz, r2, mi, quat, j, pair_params):
        """Bonds of a non-overlapping pair of unit-size particles (units_sized with scale 1)."""
        return 1 if r2 < pair_params[0] else 0

    @jit
    def reach(pair_params):
        """Distance beyond which no pair interacts (lambda times the largest size)."""
        return pair_params[1]

    return {"units": units, "units_sized": units_sized, "reach": reach}
