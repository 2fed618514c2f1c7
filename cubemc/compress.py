"""Compression of a dilute hard-particle configuration (any shape) to a target density."""

import numpy as np

from . import pairs, shapes
from .errors import InputError
from .geometry import cell_grid
from .systems import Systems

#: relative shrink of the box edge whenever the configuration is free of overlaps
SHRINK = 0.005
#: sweeps between overlap counts
CHUNK = 5


def compress_fluid(state, box_target, seed, max_sweeps=20000):
    """Shrink the box isotropically until its first edge is `box_target`, letting hard-particle
    MC remove overlaps (every edge scales alike, so non-cubic boxes keep their proportions).

    Whenever no cubes overlap, positions and box are scaled down by at most SHRINK; the few
    overlaps this creates are then removed by ordinary trial moves (a move is only rejected for
    overlaps at its new position, so overlapping cubes can move apart).  This prepares a starting
    state only; it is not a Markov chain of the target ensemble, so equilibrate afterwards.
    """
    from .state import State

    shape, pair = shapes.get(state.shape), pairs.square_well
    kernels = state._kernels()
    pos, quat = state.positions.copy(), state.orientations.copy()
    box = state.box.copy()
    params = state.shape_params
    # beta_epsilon is 0 below, so the well only has to be a valid one: hard particles
    pair_params = pair.parameters(1.0, shapes.max_size(shape, state.shape_params))
    outer2 = shape.overlap_distance2(params)
    d_move, a_move = 0.2, 0.2
    sweep = 0
    while sweep < max_sweeps:
        grid, cap = cell_grid(box, 0.0, shape, params)
        cap *= 4  # overlapping centres pack closer than the overlap-free bound
        bonds, overlaps = kernels.count_pairs(pos, quat, params, box, grid, cap, np.array(pair_params))
        if overlaps == 0 and bonds >= 0:
            if box[0] <= box_target * (1 + 1e-12):
                return State(pos, quat, box, shape=state.shape, shape_params=params)
            factor = max(box_target / box[0], 1.0 - SHRINK)
            pos *= factor
            box *= factor
            grid, cap = cell_grid(box, 0.0, shape, params)
            cap *= 4
        systems = Systems(shape, pair, "cpu", [(pos, quat, params, box)], [grid], cap)
        _, counts, ok = systems.advance(
            CHUNK, [seed], [sweep], [(d_move, a_move, 0.0, outer2)], [pair_params], [0]
        )
        if not ok:
            break
        pos, quat = (a.copy() for a in systems.configuration(0))
        counts = counts[0]
        sweep += CHUNK
        # keep both moves near 30 % acceptance; sizes only matter for speed here
        d_move = min(0.5, d_move * (counts[0] / max(counts[1], 1) + 0.05) / 0.35)
        a_move = min(1.0, a_move * (counts[2] / max(counts[3], 1) + 0.05) / 0.35)
    volume = float(np.sum(shape.volumes(params, state.N)))
    what = "cubes" if state.shape == "cube" else "particles"
    target = volume / np.prod(state.box * (box_target / state.box[0]))
    raise InputError(
        f"could not compress {state.N} {what} to packing fraction "
        f"{target:.4f} within {max_sweeps} sweeps (reached "
        f"{volume / np.prod(box):.4f}); lower the packing fraction or raise max_sweeps"
    )
