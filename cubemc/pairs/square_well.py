"""Square well between particle centres: a non-overlapping pair closer than `well_range` counts
one bond; beta*U = beta_epsilon * bonds, kept as an exact integer count.

A pair-energy module gives the kernels integer interaction *units* per pair (the energy is
coupling * units), so energies never drift; see cubemc/pairs/__init__.py for the contract.
"""

import math

NAME = "square_well"
#: the energy depends on the centre distance only, so rotations never change it
ISOTROPIC = True
#: per-system parameters passed to the kernels: (well_range**2,)
N_PARAMS = 1


def parameters(well_range):
    """Kernel parameters (a tuple of floats) for a well of this range."""
    return (float(well_range) ** 2,)


def cutoff(well_range):
    """Largest centre distance at which the pair energy can be non-zero."""
    return float(well_range)


def make(jit):
    @jit
    def units(dx, dy, dz, r2, mi, quat, j, pair_params):
        """Bonds of a non-overlapping pair (0 or 1): particle j (orientation quat[j]) at offset
        (dx, dy, dz), r2 = |d|^2, from a particle with rotation matrix mi."""
        return 1 if r2 < pair_params[0] else 0

    @jit
    def reach(pair_params):
        """Distance beyond which no pair interacts (the well range)."""
        return math.sqrt(pair_params[0])

    return {"units": units, "reach": reach}
