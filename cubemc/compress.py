"""Compression of a hard-particle configuration (any shape) to a target density."""

import numpy as np

from . import pairs, shapes
from .errors import InputError
from .geometry import cell_grid
from .systems import Systems

#: relative shrink of the box edge whenever the configuration is free of overlaps
SHRINK = 0.005
#: sweeps between overlap counts
CHUNK = 5
#: with back-off: the smallest shrink tried before giving up, and the growth after a success
MIN_SHRINK = 1e-4
SHRINK_GROWTH = 1.25


def compress_fluid(state, box_target, seed, max_sweeps=20000, stall_sweeps=None, swaps=0, stats=None):  # noqa: C901, PLR0912, PLR0915 (one loop)
    """Shrink the box isotropically until its first edge is `box_target`, letting hard-particle
    MC remove overlaps (every edge scales alike, so non-cubic boxes keep their proportions).

    Whenever no cubes overlap, positions and box are scaled down by at most SHRINK; the few
    overlaps this creates are then removed by ordinary trial moves (a move is only rejected for
    overlaps at its new position, so overlapping cubes can move apart).  This prepares a starting
    state only; it is not a Markov chain of the target ensemble, so equilibrate afterwards.

    `stall_sweeps` (None: off, the historical behaviour) adds back-off for dense states near
    jamming: when overlaps survive that many sweeps after a shrink, the last overlap-free
    configuration is restored and the shrink halved (it grows again by SHRINK_GROWTH after each
    success); below MIN_SHRINK the compression gives up.  Every returned state is overlap-free.
    `swaps` (0: off) exchanges the parameters of that many random pairs of particles at each
    overlap-free point where the exchange creates no overlap (polydisperse crystals: lets large
    particles part; the set of sizes is unchanged, which particle has which size is not).
    `stats`, a dict if given, receives the sweeps run, the exchanges kept and, on failure, the
    packing fraction `reached` without overlaps.
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
    shrink, last_free, stalled = SHRINK, None, 0
    rng, kept = np.random.default_rng(seed), 0
    params = params.copy()  # exchanged in place by swaps
    while sweep < max_sweeps:
        grid, cap = cell_grid(box, 0.0, shape, params)
        cap *= 4  # overlapping centres pack closer than the overlap-free bound
        bonds, overlaps = kernels.count_pairs(pos, quat, params, box, grid, cap, np.array(pair_params))
        if overlaps == 0 and bonds >= 0:
            if box[0] <= box_target * (1 + 1e-12):
                if stats is not None:
                    stats.update(sweeps=sweep, swaps_kept=kept)
                return State(pos, quat, box, shape=state.shape, shape_params=params)
            if stall_sweeps is not None:
                if last_free is not None:
                    shrink = min(SHRINK, shrink * SHRINK_GROWTH)
                last_free, stalled = (pos.copy(), quat.copy(), box.copy()), 0
            if swaps:
                kept += _swap_sizes(kernels, shape, (pos, quat, params, box), pair_params, swaps, rng)
            factor = max(box_target / box[0], 1.0 - shrink)
            pos *= factor
            box *= factor
            grid, cap = cell_grid(box, 0.0, shape, params)
            cap *= 4
        elif stall_sweeps is not None and last_free is not None and stalled >= stall_sweeps:
            shrink *= 0.5
            if shrink < MIN_SHRINK:
                break
            pos, quat, box = (a.copy() for a in last_free)
            factor = max(box_target / box[0], 1.0 - shrink)
            pos *= factor
            box *= factor
            stalled = 0
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
        stalled += CHUNK
        # keep both moves near 30 % acceptance; sizes only matter for speed here
        d_move = min(0.5, d_move * (counts[0] / max(counts[1], 1) + 0.05) / 0.35)
        a_move = min(1.0, a_move * (counts[2] / max(counts[3], 1) + 0.05) / 0.35)
    volume = float(np.sum(shape.volumes(params, state.N)))
    reached = box if last_free is None else last_free[2]
    if stats is not None:
        stats.update(sweeps=sweep, swaps_kept=kept, reached=volume / np.prod(reached))
    what = "cubes" if state.shape == "cube" else "particles"
    target = volume / np.prod(state.box * (box_target / state.box[0]))
    raise InputError(
        f"could not compress {state.N} {what} to packing fraction "
        f"{target:.4f} within {max_sweeps} sweeps (reached "
        f"{volume / np.prod(reached):.4f}); lower the packing fraction or raise max_sweeps"
    )


def _swap_sizes(kernels, shape, configuration, pair_params, attempts, rng):  # noqa: PLR0913 (a configuration and the kernels)
    """Exchange the shape parameters of random pairs of particles of an overlap-free
    configuration in place, each exchange kept only if neither particle then overlaps any
    particle within the largest overlap distance (the engine's exact test, pair by pair).
    Returns the number kept."""
    pos, quat, params, box = configuration
    reach2 = shape.overlap_distance2(params)
    pair_params = np.array(pair_params)
    kept = 0
    for _ in range(attempts):
        i, j = (int(x) for x in rng.integers(0, len(pos), 2))
        if i == j:
            continue
        params[[i, j]] = params[[j, i]]
        if _overlaps_any(kernels, (i, j), pos, quat, params, box, reach2, pair_params):
            params[[i, j]] = params[[j, i]]
        else:
            kept += 1
    return kept


def _overlaps_any(kernels, particles, pos, quat, params, box, reach2, pair_params):  # noqa: PLR0913 (a configuration)
    """Whether any of `particles` overlaps a particle within the largest overlap distance
    (the engine's exact test, one pair at a time through its cached brute-force search)."""
    for p in particles:
        d = pos - pos[p]
        d -= box * np.rint(d / box)
        for k in np.flatnonzero(np.einsum("ij,ij->i", d, d) < reach2):
            pair = [p, int(k)]
            if (
                k != p
                and kernels.first_overlap(pos[pair], quat[pair], params[pair], box, pair_params)[0] >= 0
            ):
                return True
    return False
