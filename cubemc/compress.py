"""Compression of a dilute hard-cube configuration to a target density."""

import numpy as np

from . import cpu
from .errors import InputError
from .geometry import cell_grid

#: relative shrink of the box edge whenever the configuration is free of overlaps
SHRINK = 0.005
#: sweeps between overlap counts
CHUNK = 5


def compress_fluid(state, box_target, seed, max_sweeps=20000):
    """Shrink the box isotropically to `box_target`, letting hard-cube MC remove overlaps.

    Whenever no cubes overlap, positions and box are scaled down by at most SHRINK; the few
    overlaps this creates are then removed by ordinary trial moves (a move is only rejected for
    overlaps at its new position, so overlapping cubes can move apart).  This prepares a starting
    state only; it is not a Markov chain of the target ensemble, so equilibrate afterwards.
    """
    from .state import State

    pos, quat = state.positions.copy(), state.orientations.copy()
    box = state.box.copy()
    seed = np.uint64(seed)
    d_move, a_move = 0.2, 0.2
    sweep = 0
    while sweep < max_sweeps:
        grid, cap = cell_grid(box)
        cap *= 4  # overlapping centres pack closer than the overlap-free bound
        bonds, overlaps = cpu.count_pairs(pos, quat, box, grid, cap, 1.0)
        if overlaps == 0 and bonds >= 0:
            if box[0] <= box_target * (1 + 1e-12):
                return State(pos, quat, box)
            factor = max(box_target / box[0], 1.0 - SHRINK)
            pos *= factor
            box *= factor
            grid, cap = cell_grid(box)
            cap *= 4
        counts = np.zeros(4, np.int64)
        trace = np.zeros(CHUNK, np.int64)
        _, ok = cpu.checkerboard_sweeps(pos, quat, box, grid, cap, seed, sweep, CHUNK, d_move,
                                        a_move, 0.0, 1.0, 0, counts, trace)
        if not ok:
            break
        sweep += CHUNK
        # keep both moves near 30 % acceptance; sizes only matter for speed here
        d_move = min(0.5, d_move * (counts[0] / max(counts[1], 1) + 0.05) / 0.35)
        a_move = min(1.0, a_move * (counts[2] / max(counts[3], 1) + 0.05) / 0.35)
    raise InputError(f"could not compress {state.N} cubes to packing fraction "
                     f"{state.N / box_target ** 3:.4f} within {max_sweeps} sweeps (reached "
                     f"{state.N / np.prod(box):.4f}); lower the packing fraction or raise max_sweeps")
