"""Compile a shape's CPU kernels ahead of the runs, in two halves that processes share.

numba compiles a kernel on first use and caches it on disk (`targets`).  With an empty cache a
process running cubes spends about 45 s of one core compiling (measured on the 2-core VM: the
pair count about 11 s, the sweep about 17 s, the pressure's event search 12-16 s), and
``project.py run --parallel`` starts its workers together, so every worker compiled all of it.
`halves` splits the work in two: run in two processes at once, each compiles one half and finds
the other in the cache afterwards, so the pass waits for the longer half only.

The kernels are specialised per shape, not per parameter set, so a small system of the shape
compiles exactly the kernels a large one uses.
"""

from __future__ import annotations

import numpy as np

#: particles per axis of the warm-up crystal, and its spacing in particle sizes: 3 cells of the
#: pressure's search per axis (its each-pair-once kernel, the one every crystal run uses)
_SIDE = 3
_SPACING = 3.0


def _small_state(shape: str, params, check: bool):
    # not lattices.simple_cubic: its State checks for overlaps, which compiles the pair count
    from . import shapes
    from .state import State

    params = np.asarray(params, np.float64).reshape(1, -1)
    step = _SPACING * shapes.max_size(shapes.get(shape), params if params.size else None)
    grid = np.arange(_SIDE) * step - (_SIDE - 1) * step / 2
    positions = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), axis=-1).reshape(-1, 3)
    n = len(positions)
    orientations = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    kwargs = {} if shape == "cube" else {"shape": shape, "shape_params": np.repeat(params, n, axis=0)}
    return State(positions, orientations, [_SIDE * step] * 3, check=check, **kwargs)


def compile_sweeps(shape: str = "cube", params=()) -> None:
    """The pair count and the sweep (a Simulation built and run for one sweep)."""
    from .simulation import Simulation

    Simulation(_small_state(shape, params, check=True), beta_epsilon=-1.0, device="cpu").run(1)


def compile_pressure(shape: str = "cube", params=()) -> None:
    """The pressure's event search, and the many-pair overlap test of `geometry.overlaps` (the
    report's second virial coefficient) for cubes; no pair count."""
    from . import geometry, pairs, pressure

    state = _small_state(shape, params, check=False)
    pressure.scale_events(state, pairs.square_well, 1.14, -1.0)
    if shape == "cube":  # geometry.overlaps' default shape
        q = np.tile([1.0, 0.0, 0.0, 0.0], (2, 1))
        geometry.overlaps(np.array([[2.0, 0.0, 0.0], [0.5, 0.0, 0.0]]), q, q)


def halves(shape: str = "cube", params=()) -> list:
    """The two halves for `shape` (name) with the (P,) parameters of one particle: zero-argument
    callables, to be run at the same time in two processes that share the kernel cache."""
    return [lambda: compile_sweeps(shape, params), lambda: compile_pressure(shape, params)]
