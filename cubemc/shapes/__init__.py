"""Particle shapes: one module per shape family, registered by name.

A shape module defines
  NAME, N_PARAMS                    name and number of per-particle shape parameters
  circumsphere_diameter(params)     largest circumsphere diameter (sets the cell width)
  insphere_diameter(params)         smallest insphere diameter (sets the cell capacity)
  overlap_distance2(params)         largest squared centre distance at which two can overlap
  volumes(params, n)                particle volumes (packing fraction)
  gsd_shapes(params)                particles/type_shapes entries for GSD viewers
  make(jit) -> {"pair_bounds", "overlap", "size"}
      pair_bounds(params, i, j) -> (outer2, inner2): centres farther than sqrt(outer2) never
          overlap, closer than sqrt(inner2) always do;
      overlap(dx, dy, dz, ma, mb, params, i, j) -> bool: exact test of particle j (rotation
          matrix mb, a row-major 9-tuple) at offset (dx, dy, dz) from particle i (matrix ma);
          touching counts as overlapping;
      size(params, i) -> float: the particle's size s (the pair energy's lengths scale with
          (s_i + s_j) / 2; docs/model-shapes.md defines s per family).
and optionally (families with per-particle sizes)
  sizes(params, n)                  the sizes s, (n,) (default: all 1)
  check(params)                     raise InputError for unusable parameters (non-positive edges...)
  extents(params)                   (n, 3) outer edge lengths along the body axes (lattices)
  gsd_types(params)                 (type_shapes, typeid): one GSD type per distinct particle
  from_gsd_shapes(type_shapes)      (params per type) or None when the entries are not this family
  INLINE = True                     a small overlap test the CPU splices into its callers
                                    (faster; a large one would multiply the compile time)
A module without `size` is taken as all size 1.
`params` is an (N, max(N_PARAMS, 1)) float64 array.  The kernels are generated per shape by
cubemc.targets, so a new shape is one new module plus `register(module)`.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from . import cube, cuboid, rounded_cuboid

_SHAPES: dict[str, ModuleType] = {m.NAME: m for m in (cube, cuboid, rounded_cuboid)}


def register(module: ModuleType) -> None:
    """Make a shape module available by its NAME."""
    _SHAPES[module.NAME] = module


def get(name: str) -> ModuleType:
    from ..errors import InputError

    try:
        return _SHAPES[name]
    except KeyError:
        raise InputError(f"unknown shape {name!r}; choose one of {', '.join(sorted(_SHAPES))}") from None


def names() -> list[str]:
    return sorted(_SHAPES)


def sizes(shape: ModuleType, params, n: int):
    """Particle sizes s (n,) of a shape module (all 1 for shapes without sizes)."""
    if hasattr(shape, "sizes"):
        return np.asarray(shape.sizes(params, n), np.float64)
    return np.ones(n)


def max_size(shape: ModuleType, params) -> float:
    """The largest particle size (exactly 1.0 for the unit cube): the pair energy's reach and
    the cell grid scale with it."""
    if not hasattr(shape, "sizes") or params is None:
        return 1.0
    params = np.asarray(params, np.float64)
    return float(np.max(shape.sizes(params, params.shape[0])))
