"""Pair energies: one module per energy, registered by name.

A pair-energy module defines
  NAME, N_PARAMS, ISOTROPIC         name, number of kernel parameters, True if only the centre
                                    distance matters (rotations then skip the energy)
  parameters(..., max_size=1.0) -> tuple
                                    kernel parameters from the user's parameters and the largest
                                    particle size of the system (the reach must cover every pair)
  cutoff(...) -> float              largest centre distance with a non-zero energy for particles of
                                    size 1 (cubemc.geometry.cell_grid scales it by the largest size)
  make(jit) -> {"units", "units_sized", "reach"}
      units_sized(dx, dy, dz, r2, mi, quat, j, pair_params, scale) -> int: energy of a
          non-overlapping pair in integer units (beta U = beta_epsilon * units), particle j at
          (dx, dy, dz) from a particle with rotation matrix mi; `scale` is the pair's mean size
          (s_i + s_j) / 2 (1.0 for unit particles), by which the energy's lengths scale;
      units(dx, dy, dz, r2, mi, quat, j, pair_params) -> int: the same for scale 1 (kept for
          callers outside the kernels);
      reach(pair_params) -> float: the cutoff of the largest pair, on the device.
The kernels call units_sized through kernels.pair_units, which computes the scale from the shape's
`size`.  A module without units_sized is taken as size-independent (units for every pair).
The kernels are generated per pair energy by cubemc.targets: a new energy is one module plus
`register(module)`.
"""

from __future__ import annotations

from types import ModuleType

from . import square_well

_PAIRS: dict[str, ModuleType] = {square_well.NAME: square_well}


def register(module: ModuleType) -> None:
    _PAIRS[module.NAME] = module


def get(name: str) -> ModuleType:
    from ..errors import InputError

    try:
        return _PAIRS[name]
    except KeyError:
        raise InputError(f"unknown pair energy {name!r}; choose one of {', '.join(sorted(_PAIRS))}") from None
