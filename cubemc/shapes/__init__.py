"""Particle shapes: one module per shape family, registered by name.

A shape module defines
  NAME, N_PARAMS                    name and number of per-particle shape parameters
  circumsphere_diameter(params)     largest circumsphere diameter (sets the cell width)
  insphere_diameter(params)         smallest insphere diameter (sets the cell capacity)
  overlap_distance2(params)         largest squared centre distance at which two can overlap
  volumes(params, n)                particle volumes (packing fraction)
  gsd_shapes(params)                particles/type_shapes entries for GSD viewers
  make(jit) -> {"pair_bounds", "overlap"}
      pair_bounds(params, i, j) -> (outer2, inner2): centres farther than sqrt(outer2) never
          overlap, closer than sqrt(inner2) always do;
      overlap(dx, dy, dz, ma, mb, params, i, j) -> bool: exact test of particle j (rotation
          matrix mb, a row-major 9-tuple) at offset (dx, dy, dz) from particle i (matrix ma);
          touching counts as overlapping.
`params` is an (N, max(N_PARAMS, 1)) float64 array.  The kernels are generated per shape by
cubemc.targets, so a new shape is one new module plus `register(module)`.
"""

from __future__ import annotations

from types import ModuleType

from . import cube

_SHAPES: dict[str, ModuleType] = {cube.NAME: cube}


def register(module: ModuleType) -> None:
    """Make a shape module available by its NAME."""
    _SHAPES[module.NAME] = module


def get(name: str) -> ModuleType:
    from ..errors import InputError

    try:
        return _SHAPES[name]
    except KeyError:
        raise InputError(f"unknown shape {name!r}; choose one of {', '.join(sorted(_SHAPES))}") from None
