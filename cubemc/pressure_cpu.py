"""CPU template: each particle's first event under virtual compression and expansion.

Specialised per (shape, pair energy) by cubemc.targets exactly like cpu.py (module globals SHAPE
and PAIR, a numba cache folder per specialisation keyed by the kernel sources), and used only
through cubemc.pressure; see that module for the estimator and its derivation.  The overlap test
is the kernels' own `overlap_at` (cubemc/kernels.py), the single source of the hard core.
"""

import math

import numba
from numba import prange

from cubemc.kernels import make_kernels

SHAPE = globals().get("SHAPE")  # injected by cubemc.targets
PAIR = globals().get("PAIR")


def _jit(fn):
    """numba.njit under a per-specialisation name.  numba names a compiled closure by module,
    qualname and a per-process counter, and links a callee loaded from the cache by that name: the
    same kernels closure of two shapes, cached by two processes, could share a name, and the first
    one loaded would then serve both.  A qualname that says which specialisation it is keeps
    them apart."""
    fn.__qualname__ = f"{fn.__qualname__}__pressure_{SHAPE.NAME}_{PAIR.NAME}"
    return numba.njit(fn)


def _inline(fn):
    """_jit for the per-pair functions: spliced into their callers (see make_kernels)."""
    fn.__qualname__ = f"{fn.__qualname__}__pressure_{SHAPE.NAME}_{PAIR.NAME}"
    return numba.njit(inline="always")(fn)


_k = make_kernels(_jit, SHAPE, PAIR, inline=_inline)
overlap_at = _k["overlap_at"]
quat_to_matrix = _k["quat_to_matrix"]

#: event kinds (0: none within the largest scale examined); cubemc.pressure uses the same values
OVERLAP, WELL_ENTRY, WELL_EXIT = 1, 2, 3
#: bisection steps on the overlap test: resolves x to max_scale / 2**16, far below a bin
BISECTIONS = 16


@numba.njit(cache=True)
def nearest_image(d, length):
    return d - length * math.floor(d / length + 0.5)


@numba.njit(cache=True)
def first_overlap(i, j, dx, dy, dz, mi, quat, shapes, lo, hi):  # noqa: PLR0913 (scalars)
    """Smallest compression in (lo, hi] at which j, at (dx, dy, dz) from i, overlaps i, given an
    overlap at hi and none at lo.  Bisection is exact for convex shapes: the overlapping scales of
    a pair form one interval (the overlap region of the offset is convex and contains 0)."""
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        f = 1.0 - mid
        if overlap_at(i, j, f * dx, f * dy, f * dz, mi, quat, shapes):
            hi = mid
        else:
            lo = mid
    return hi


@numba.njit(parallel=True, cache=True)
def scale_events(pos, quat, shapes, box, cells, outer2, wells, max_scale, out_x, out_kind):  # noqa: PLR0913 (one compiled call: arrays in, arrays out)
    """Per particle i: (x, kind) of its first compressive (out_*[i, 0]) and expansive
    (out_*[i, 1]) event with any neighbour within max_scale.

    cells = (grid, cell of each particle, order, starts) from cubemc.pressure.cell_lists, with
    cells at least as wide as the largest centre distance an event can involve; wells[i] is half
    the well of i, so the pair (i, j) has its step at wells[i] + wells[j] (0: no well events).
    """
    grid, cell, order, starts = cells
    nx, ny, nz = grid[0], grid[1], grid[2]
    for i in prange(pos.shape[0]):
        mi = quat_to_matrix(quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3])
        xc, kc, xe, ke = max_scale, 0, max_scale, 0
        for ox in range(-1 if nx > 2 else 0, 2):
            for oy in range(-1 if ny > 2 else 0, 2):
                for oz in range(-1 if nz > 2 else 0, 2):
                    m = (((cell[i, 0] + ox) % nx) * ny + (cell[i, 1] + oy) % ny) * nz + (cell[i, 2] + oz) % nz
                    for s in range(starts[m], starts[m + 1]):
                        j = order[s]
                        if j == i:
                            continue
                        dx = nearest_image(pos[j, 0] - pos[i, 0], box[0])
                        dy = nearest_image(pos[j, 1] - pos[i, 1], box[1])
                        dz = nearest_image(pos[j, 2] - pos[i, 2], box[2])
                        r2 = dx * dx + dy * dy + dz * dz
                        r = math.sqrt(r2)
                        well = wells[i] + wells[j]
                        if r < well and well / r - 1.0 < xe:  # leaves the well on expansion
                            xe, ke = well / r - 1.0, WELL_EXIT
                        if r >= well and 1.0 - well / r < xc:  # enters it on compression
                            xc, kc = 1.0 - well / r, WELL_ENTRY
                        f = 1.0 - xc  # an overlap only counts if it comes before the best so far
                        if f * f * r2 < outer2 and overlap_at(i, j, f * dx, f * dy, f * dz, mi, quat, shapes):
                            lo = max(0.0, 1.0 - math.sqrt(outer2 / r2))
                            xc = first_overlap(i, j, dx, dy, dz, mi, quat, shapes, lo, xc)
                            kc = OVERLAP
        out_x[i, 0] = xc
        out_kind[i, 0] = kc
        out_x[i, 1] = xe
        out_kind[i, 1] = ke
