"""cubemc's particle shapes as HOOMD-blue HPMC particle types, for cubemc.hoomd_engine (docs/hoomd.md).

HOOMD gives every particle of a type the same shape, so each distinct particle (distinct row of
``State.shape_params``) becomes one type: cubes and cuboids a ``ConvexPolyhedron`` with the 8 box
vertices, rounded cuboids a ``ConvexSpheropolyhedron`` (the core's vertices and ``sweep_radius``).
The square well's range lambda (s_i + s_j) / 2 depends only on the pair of types, so it is one
``hpmc.pair.Step`` parameter set per pair of types: HOOMD expresses cubemc's sized well exactly.
Plain data only; nothing here imports hoomd.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import shapes
from .errors import EngineSelectionError, InputError
from .geometry import CUBE_VERTICES
from .shapes.cuboid import box_vertices

#: the HPMC integrator (hoomd.hpmc.integrate class) of each shape family
INTEGRATORS = {
    "cube": "ConvexPolyhedron",
    "cuboid": "ConvexPolyhedron",
    "rounded_cuboid": "ConvexSpheropolyhedron",
}
#: most distinct particles (HOOMD types) the adapter accepts: HOOMD's set-up time grows with the
#: square of the number of types (per-type-pair overlap and Step tables; measured with HOOMD 4.8.2
#: built -O0: 100 types take 15 s to attach with the well, 1000 types over 5 minutes without it)
MAX_TYPES = 64


@dataclass(frozen=True)
class HoomdTypes:
    """The HOOMD particle types of a State.

    integrator: hoomd.hpmc.integrate class name; names: type names ("A" alone, else "A0", "A1",
    ... as in cubemc's GSD frames); typeid: (N,) type of each particle; shape_entries: the
    ``mc.shape[name]`` dict of each type; sizes: the particle size s of each type."""

    integrator: str
    names: tuple[str, ...]
    typeid: np.ndarray
    shape_entries: tuple[dict, ...]
    sizes: np.ndarray

    def well_ranges(self, well_range: float) -> dict[tuple[str, str], float]:
        """Step range of each unordered pair of types: well_range times the mean size, computed as
        the kernels compute the scale (0.5 * (s_i + s_j)), so a unit pair gets well_range itself."""
        out = {}
        for a, name_a in enumerate(self.names):
            for b in range(a, len(self.names)):
                scale = 0.5 * (float(self.sizes[a]) + float(self.sizes[b]))
                out[(name_a, self.names[b])] = float(well_range) * scale
        return out


def hoomd_types(state) -> HoomdTypes:
    """One HOOMD type per distinct particle of `state`; InputError for what HOOMD cannot run."""
    name = state.shape
    if name not in INTEGRATORS:
        raise InputError(
            f"the hoomd engine runs the shapes {', '.join(INTEGRATORS)}, not {name!r}; "
            "use CUBEMC_ENGINE=native"
        )
    module = shapes.get(name)
    if name == "cube":
        rows, typeid = np.zeros((1, 1)), np.zeros(state.N, np.int64)
    else:
        rows, typeid = np.unique(state.shape_params, axis=0, return_inverse=True)
    if rows.shape[0] > MAX_TYPES:
        raise InputError(
            f"the hoomd engine needs one HOOMD type per distinct particle and this state has "
            f"{rows.shape[0]} (more than {MAX_TYPES}, beyond which HOOMD's set-up takes minutes); "
            "give the particles few distinct sizes (repeat values from a short list) or use "
            "CUBEMC_ENGINE=native"
        )
    names = ("A",) if rows.shape[0] == 1 else tuple(f"A{k}" for k in range(rows.shape[0]))
    entries = tuple(_shape_entry(name, row) for row in rows)
    sizes = shapes.sizes(module, rows, rows.shape[0])
    return HoomdTypes(INTEGRATORS[name], names, typeid.reshape(-1).astype(np.int64), entries, sizes)


def _shape_entry(name, row):
    """``mc.shape[type]`` of one particle: the box vertices, or the core's distinct vertices and
    the sweep radius (a flat core has 4, a rod 2 and a sphere's point core 1)."""
    if name == "cube":
        return {"vertices": CUBE_VERTICES.tolist()}
    vertices = box_vertices(0.5 * row[:3])
    if name == "cuboid":
        return {"vertices": vertices}
    core = np.unique(np.asarray(vertices, np.float64), axis=0)  # zero edges repeat vertices
    return {"vertices": core.tolist(), "sweep_radius": float(row[3])}


def integrator_class(hoomd, types: HoomdTypes):
    """The hoomd.hpmc.integrate class for `types`; EngineSelectionError when this HOOMD build was
    compiled without it (docs/hoomd.md: builds may keep only the shapes they need)."""
    integrator = getattr(hoomd.hpmc.integrate, types.integrator)
    if not hasattr(hoomd.hpmc._hpmc, integrator._cpp_cls):  # the compiled class behind it
        raise EngineSelectionError(
            f"this HOOMD-blue build ({hoomd.version.version}) was compiled without the HPMC shape "
            f"{types.integrator}, which these particles need; rebuild it with "
            f"hoomd/hpmc/module_{_snake(types.integrator)}.cc (docs/hoomd.md) or use CUBEMC_ENGINE=native"
        )
    return integrator


def make_integrator(hoomd, types: HoomdTypes, beta_epsilon, well_range, **moves):
    """The HPMC integrator (keyword arguments `moves`) with every type's shape and, unless
    beta_epsilon is 0 (hard particles may use a GPU), the sized square well as hpmc.pair.Step."""
    mc = integrator_class(hoomd, types)(**moves)
    for name, entry in zip(types.names, types.shape_entries, strict=True):
        mc.shape[name] = entry
    if beta_epsilon != 0:
        well = hoomd.hpmc.pair.Step()
        for pair, r in types.well_ranges(well_range).items():
            well.params[pair] = {"epsilon": [float(beta_epsilon)], "r": [r]}
        mc.pair_potentials = [well]
    return mc


def _snake(camel):
    return "".join("_" + c.lower() if c.isupper() else c for c in camel).lstrip("_")
