"""Device functions every kernel needs, whatever the shape: random numbers and the cell grid.

Part of the single source of cubemc/kernels.py (see its docstring for the schedule and the
random-number streams); compiled for both targets by the same `jit`.
"""

import functools
import math

import numpy as np

U64 = np.uint64
INV53 = 1.0 / 9007199254740992.0  # 2**-53
#: bits reserved for the cell or particle index inside a stream id.
PURPOSE_CELL = U64(1) << U64(48)
PURPOSE_SERIAL = U64(2) << U64(48)
PURPOSE_GRID = U64(3) << U64(48)
#: random numbers drawn per trial (counter = trial * DRAWS + k).
DRAWS = 16


def random_functions(jit):
    """Counter-based random numbers (splitmix64) and Gaussian pairs."""

    @jit
    def splitmix64(x):
        z = x + U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
        return z ^ (z >> U64(31))

    @jit
    def stream_key(seed, sweep, stream):
        """Hash of (seed, sweep, stream) (uint64); combined with a counter by `uniform`."""
        return splitmix64(splitmix64(splitmix64(seed) ^ sweep) ^ stream)

    @jit
    def uniform(key, counter):
        """Uniform double in (0, 1] for draw `counter` of the stream `key` (both uint64)."""
        return (np.float64(splitmix64(key ^ counter) >> U64(11)) + 1.0) * INV53

    @jit
    def gaussian_pair(u1, u2):
        r = math.sqrt(-2.0 * math.log(u1))
        return r * math.cos(2.0 * math.pi * u2), r * math.sin(2.0 * math.pi * u2)

    return dict(splitmix64=splitmix64, stream_key=stream_key, uniform=uniform, gaussian_pair=gaussian_pair)


def grid_functions(jit, k):
    """Periodic wrapping, cell coordinates, the per-sweep grid shift and checkerboard sets."""
    stream_key, uniform = k["stream_key"], k["uniform"]

    @jit
    def wrap(x, length):
        """Map x into [-L/2, L/2)."""
        return x - length * math.floor(x / length + 0.5)

    @jit
    def min_image(d, length):
        """Nearest image of a difference of two wrapped coordinates (|d| < L)."""
        if d >= 0.5 * length:
            return d - length
        if d < -0.5 * length:
            return d + length
        return d

    @jit
    def cell_coord(x, length, shift, n):
        """Cell index along one axis of a grid whose origin is shifted by `shift`."""
        f = (x + 0.5 * length + shift) / length
        f = f - math.floor(f)
        c = int(f * n)
        if c >= n:
            c = n - 1
        return c

    @jit
    def grid_shift(seed, sweep, lx, ly, lz):
        key = stream_key(seed, U64(sweep), PURPOSE_GRID)
        return lx * uniform(key, U64(0)), ly * uniform(key, U64(1)), lz * uniform(key, U64(2))

    @jit
    def first_set(seed, sweep):
        k = int(8.0 * uniform(stream_key(seed, U64(sweep), PURPOSE_GRID), U64(3)))
        return min(k, 7)

    @jit
    def assign_cell(x, y, z, lx, ly, lz, sx, sy, sz, nx, ny, nz):  # noqa: PLR0913 (scalars only)
        return (cell_coord(x, lx, sx, nx) * ny + cell_coord(y, ly, sy, ny)) * nz + cell_coord(z, lz, sz, nz)

    @jit
    def active_cell(m, parity, nx, ny, nz):
        """m-th cell of the checkerboard set `parity` (3 bits: x, y, z parity)."""
        hy = ny // 2
        hz = nz // 2
        iz = m % hz
        iy = (m // hz) % hy
        ix = m // (hz * hy)
        px = (parity >> 2) & 1
        py = (parity >> 1) & 1
        pz = parity & 1
        return ((2 * ix + px) * ny + (2 * iy + py)) * nz + (2 * iz + pz)

    return dict(
        wrap=wrap,
        min_image=min_image,
        cell_coord=cell_coord,
        grid_shift=grid_shift,
        first_set=first_set,
        assign_cell=assign_cell,
        active_cell=active_cell,
    )


@functools.cache
def host_functions():
    """random_functions and grid_functions compiled for the host (numba.njit), by name, built once:
    for host code (the box moves' draws), vmmc_cells' host set, tools and tests."""
    import numba

    k = random_functions(numba.njit)
    k.update(grid_functions(numba.njit, k))
    return k
