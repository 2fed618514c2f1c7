"""Pair energies: one module per energy, registered by name.

A pair-energy module defines
  NAME, N_PARAMS, ISOTROPIC         name, number of kernel parameters, True if only the centre
                                    distance matters (rotations then skip the energy)
  parameters(...) -> tuple          kernel parameters from the user's parameters
  cutoff(...) -> float              largest centre distance with a non-zero energy
  make(jit) -> {"units", "reach"}
      units(dx, dy, dz, r2, mi, quat, j, pair_params) -> int: energy of a non-overlapping pair
          in integer units (beta U = beta_epsilon * units), particle j at (dx, dy, dz) from a
          particle with rotation matrix mi;
      reach(pair_params) -> float: the cutoff, on the device.
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
