"""Single-source Monte Carlo kernels, compiled for the CPU (numba) and for CUDA (numba-cuda).

`make_kernels(jit)` builds every per-move function from one source; `cpu.py` calls it with
`numba.njit` and `gpu.py` with `cuda.jit(device=True)`.  Only scalars and tuples cross function
boundaries (arrays are allocated by the target kernels), because that is what both targets accept.

Parallel update schedule (checkerboard) and why it keeps the Boltzmann distribution invariant
--------------------------------------------------------------------------------------------------
* Every sweep the grid origin is shifted by a uniform random vector and the box is cut into
  nx * ny * nz cells, each axis count even and each cell at least as wide as the interaction range
  r_int = max(sqrt(3), well_range).  Cells are split into 8 sets by the parity of their indices.
* The 8 sets are visited in turn (random starting set).  Within a set, every active cell does n_c
  trials, n_c = its number of cubes; a trial picks one of those cubes uniformly, proposes a
  symmetric translation or rotation, rejects it if the cube would leave the cell or overlap, and
  accepts it with the Metropolis probability min(1, exp(-beta_eps * delta_bonds)).
* One trial is a Metropolis step with a symmetric proposal: cube k of cell C is chosen with
  probability 1/n_c both forwards and backwards (the move never changes which cubes are in C), the
  displacement or quaternion perturbation is as likely as its inverse, and moves leaving C are
  rejected in both directions.  So each trial satisfies detailed balance with respect to
  exp(-beta U) restricted to hard-core-allowed states, and therefore leaves it invariant.
* Cubes in two active cells of one set are more than one cell width (>= r_int) apart, both before
  and after their moves, so they never interact: the trials running in parallel commute, and a set
  is exactly a product of invariant single-cube kernels.  A product of invariant kernels is
  invariant.  The random shift is a relabelling of the grid only (positions are untouched); it
  makes every region reachable, restoring the ergodicity a fixed grid would break.
* A "serial" schedule (N trials on uniformly chosen cubes, all pairs checked) is provided as an
  independent reference for tests and for boxes too small for the checkerboard.

Conventions: cube edge 1, vertices at (+-1/2)^3 in the body frame; quaternions (w, x, y, z);
touching counts as overlapping (separation tests use strict >); the well counts a pair when the
centre distance r < well_range.  Energy is kept as an integer bond count, so it never drifts.

Random numbers: splitmix64 chained over (seed, sweep, stream), then mixed with a counter; the
stream encodes the purpose (cell trial, serial trial, grid shift) and the cell, so results do not
depend on thread scheduling and a restart at sweep s reproduces the uninterrupted run bit for bit.
"""

import math

import numpy as np

U64 = np.uint64
INV53 = 1.0 / 9007199254740992.0  # 2**-53
#: added to |R_ij| in the separating-axis test so that (nearly) parallel edges, whose cross-product
#: axis degenerates to ~0, never report a false separation through rounding (inflates the excluded
#: volume by ~1e-12, far below any statistical resolution).
SAT_EPS = 1e-12
#: circumsphere diameter squared of a unit cube: centres farther apart never overlap.
CIRCUM2 = 3.0
#: bits reserved for the cell or particle index inside a stream id.
PURPOSE_CELL = U64(1) << U64(48)
PURPOSE_SERIAL = U64(2) << U64(48)
PURPOSE_GRID = U64(3) << U64(48)
#: random numbers drawn per trial (counter = trial * DRAWS + k).
DRAWS = 16


def make_kernels(jit):
    """Compile the shared per-move functions with `jit`; return them in a dict."""

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
    def quat_to_matrix(w, x, y, z):
        """Row-major rotation matrix; column k is body axis k in the lab frame."""
        return (
            1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y),
            2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x),
            2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y),
        )

    @jit
    def cubes_overlap(dx, dy, dz, aw, ax, ay, az, bw, bx, by, bz):
        """Exact test for unit cubes A at 0 and B at (dx, dy, dz) given as quaternions."""
        return boxes_overlap(dx, dy, dz, quat_to_matrix(aw, ax, ay, az),
                             quat_to_matrix(bw, bx, by, bz))

    @jit
    def boxes_overlap(dx, dy, dz, a, b):
        """Exact test for unit cubes with rotation matrices a, b (9-tuples): 15 separating axes.

        Returns True when the cubes overlap or touch.  Uses strict '>' for separation.
        """
        h = 0.5
        # t = A^T d : centre offset in A's frame
        t0 = a[0] * dx + a[3] * dy + a[6] * dz
        t1 = a[1] * dx + a[4] * dy + a[7] * dz
        t2 = a[2] * dx + a[5] * dy + a[8] * dz
        # R_ij = a_i . b_j
        r00 = a[0] * b[0] + a[3] * b[3] + a[6] * b[6]
        r01 = a[0] * b[1] + a[3] * b[4] + a[6] * b[7]
        r02 = a[0] * b[2] + a[3] * b[5] + a[6] * b[8]
        r10 = a[1] * b[0] + a[4] * b[3] + a[7] * b[6]
        r11 = a[1] * b[1] + a[4] * b[4] + a[7] * b[7]
        r12 = a[1] * b[2] + a[4] * b[5] + a[7] * b[8]
        r20 = a[2] * b[0] + a[5] * b[3] + a[8] * b[6]
        r21 = a[2] * b[1] + a[5] * b[4] + a[8] * b[7]
        r22 = a[2] * b[2] + a[5] * b[5] + a[8] * b[8]
        e00 = abs(r00) + SAT_EPS
        e01 = abs(r01) + SAT_EPS
        e02 = abs(r02) + SAT_EPS
        e10 = abs(r10) + SAT_EPS
        e11 = abs(r11) + SAT_EPS
        e12 = abs(r12) + SAT_EPS
        e20 = abs(r20) + SAT_EPS
        e21 = abs(r21) + SAT_EPS
        e22 = abs(r22) + SAT_EPS
        # face axes of A
        if abs(t0) > h * (1.0 + e00 + e01 + e02):
            return False
        if abs(t1) > h * (1.0 + e10 + e11 + e12):
            return False
        if abs(t2) > h * (1.0 + e20 + e21 + e22):
            return False
        # face axes of B
        if abs(t0 * r00 + t1 * r10 + t2 * r20) > h * (1.0 + e00 + e10 + e20):
            return False
        if abs(t0 * r01 + t1 * r11 + t2 * r21) > h * (1.0 + e01 + e11 + e21):
            return False
        if abs(t0 * r02 + t1 * r12 + t2 * r22) > h * (1.0 + e02 + e12 + e22):
            return False
        # edge-edge axes a_i x b_j
        if abs(t2 * r10 - t1 * r20) > h * (e10 + e20 + e01 + e02):
            return False
        if abs(t2 * r11 - t1 * r21) > h * (e11 + e21 + e00 + e02):
            return False
        if abs(t2 * r12 - t1 * r22) > h * (e12 + e22 + e00 + e01):
            return False
        if abs(t0 * r20 - t2 * r00) > h * (e20 + e00 + e11 + e12):
            return False
        if abs(t0 * r21 - t2 * r01) > h * (e21 + e01 + e10 + e12):
            return False
        if abs(t0 * r22 - t2 * r02) > h * (e22 + e02 + e10 + e11):
            return False
        if abs(t1 * r00 - t0 * r10) > h * (e00 + e10 + e21 + e22):
            return False
        if abs(t1 * r01 - t0 * r11) > h * (e01 + e11 + e20 + e22):
            return False
        if abs(t1 * r02 - t0 * r12) > h * (e02 + e12 + e20 + e21):
            return False
        return True

    @jit
    def pair_overlap(i, j, xi, yi, zi, qi0, qi1, qi2, qi3, pos, quat, lx, ly, lz):
        """Overlap of cube i (given state) with cube j (from the arrays), minimum image."""
        dx = min_image(pos[j, 0] - xi, lx)
        dy = min_image(pos[j, 1] - yi, ly)
        dz = min_image(pos[j, 2] - zi, lz)
        return overlap_at(i, j, dx, dy, dz, quat_to_matrix(qi0, qi1, qi2, qi3), quat)

    @jit
    def overlap_at(i, j, dx, dy, dz, mi, quat):
        """Overlap of cube i (matrix mi) with cube j at offset (dx, dy, dz) from i.

        The pair is always evaluated with the lower index first so that i-j and j-i round alike.
        """
        r2 = dx * dx + dy * dy + dz * dz
        if r2 >= CIRCUM2:
            return False
        if r2 < 1.0:  # inspheres overlap
            return True
        mj = quat_to_matrix(quat[j, 0], quat[j, 1], quat[j, 2], quat[j, 3])
        if i < j:
            return boxes_overlap(dx, dy, dz, mi, mj)
        return boxes_overlap(-dx, -dy, -dz, mj, mi)

    @jit
    def in_well(xi, yi, zi, xj, yj, zj, lx, ly, lz, well2):
        dx = min_image(xj - xi, lx)
        dy = min_image(yj - yi, ly)
        dz = min_image(zj - zi, lz)
        return dx * dx + dy * dy + dz * dz < well2

    @jit
    def propose(key, base, x, y, z, q0, q1, q2, q3, d_move, a_move, lx, ly, lz):
        """Symmetric trial move of one cube.

        Translation: uniform in a ball of radius d_move (direction from 3 Gaussians, radius d*u^(1/3)).
        Rotation: q' = (q + a*w)/|q + a*w| with w uniform on S^3, which is as likely as its inverse.
        Returns (is_translation, x', y', z', q0', q1', q2', q3').
        """
        c = U64(base)
        g0, g1 = gaussian_pair(uniform(key, c + U64(2)),
                               uniform(key, c + U64(3)))
        g2, g3 = gaussian_pair(uniform(key, c + U64(4)),
                               uniform(key, c + U64(5)))
        if uniform(key, c + U64(1)) <= 0.5:
            norm = math.sqrt(g0 * g0 + g1 * g1 + g2 * g2)
            if norm == 0.0:
                norm = 1.0
            r = d_move * math.pow(uniform(key, c + U64(6)), 1.0 / 3.0) / norm
            return (True, wrap(x + r * g0, lx), wrap(y + r * g1, ly), wrap(z + r * g2, lz),
                    q0, q1, q2, q3)
        norm = math.sqrt(g0 * g0 + g1 * g1 + g2 * g2 + g3 * g3)
        if norm == 0.0:
            norm = 1.0
        n0 = q0 + a_move * g0 / norm
        n1 = q1 + a_move * g1 / norm
        n2 = q2 + a_move * g2 / norm
        n3 = q3 + a_move * g3 / norm
        qn = math.sqrt(n0 * n0 + n1 * n1 + n2 * n2 + n3 * n3)
        if qn == 0.0:  # measure-zero: q + a*w = 0; keep q (the same happens in reverse)
            return False, x, y, z, q0, q1, q2, q3
        return False, x, y, z, n0 / qn, n1 / qn, n2 / qn, n3 / qn

    @jit
    def metropolis(delta_bonds, beta_eps, u):
        du = beta_eps * delta_bonds
        if du <= 0.0:
            return True
        return u < math.exp(-du)

    @jit
    def update_cell(c, seed, sweep, pos, quat, cell_count, members, nx, ny, nz,
                    lx, ly, lz, sx, sy, sz, d_move, a_move, beta_eps, well2):
        """All trials of one active cell; returns (delta_bonds, acc_t, n_t, acc_r, n_r)."""
        cz = c % nz
        cy = (c // nz) % ny
        cx = c // (nz * ny)
        # clamp: an overflowing cell (only possible with overlaps) is reported by the caller
        n_c = min(cell_count[c], members.shape[1])
        key = stream_key(seed, U64(sweep), PURPOSE_CELL | U64(c))
        dbonds = 0
        acc_t = 0
        n_t = 0
        acc_r = 0
        n_r = 0
        # neighbour cell offsets; with 2 cells along an axis, -1 and +1 are the same cell
        lo_x = -1 if nx > 2 else 0
        lo_y = -1 if ny > 2 else 0
        lo_z = -1 if nz > 2 else 0
        # a translation moves a cube by at most d_move, so a neighbour farther than
        # max(circumsphere, well + d_move) from the new position neither overlaps nor was bonded
        reach = math.sqrt(well2) + d_move
        reach2 = max(CIRCUM2, reach * reach)
        for t in range(n_c):
            base = U64(t) * U64(DRAWS)
            k = int(n_c * uniform(key, base))
            if k >= n_c:
                k = n_c - 1
            i = members[c, k]
            x = pos[i, 0]
            y = pos[i, 1]
            z = pos[i, 2]
            move = propose(key, base, x, y, z, quat[i, 0], quat[i, 1],
                           quat[i, 2], quat[i, 3], d_move, a_move, lx, ly, lz)
            is_t = move[0]
            if is_t:
                n_t += 1
                if (cell_coord(move[1], lx, sx, nx) != cx or cell_coord(move[2], ly, sy, ny) != cy
                        or cell_coord(move[3], lz, sz, nz) != cz):
                    continue  # leaving the cell is rejected (both directions alike)
            else:
                n_r += 1
            mi = quat_to_matrix(move[4], move[5], move[6], move[7])
            overlap = False
            delta = 0
            for ox in range(lo_x, 2):
                if overlap:
                    break
                mx = (cx + ox + nx) % nx
                for oy in range(lo_y, 2):
                    if overlap:
                        break
                    my = (cy + oy + ny) % ny
                    for oz in range(lo_z, 2):
                        mz = (cz + oz + nz) % nz
                        m = (mx * ny + my) * nz + mz
                        for s in range(min(cell_count[m], members.shape[1])):
                            j = members[m, s]
                            if j == i:
                                continue
                            dx = min_image(pos[j, 0] - move[1], lx)
                            dy = min_image(pos[j, 1] - move[2], ly)
                            dz = min_image(pos[j, 2] - move[3], lz)
                            r2 = dx * dx + dy * dy + dz * dz
                            if r2 >= reach2:
                                continue  # no overlap now, no bond now or before the move
                            if overlap_at(i, j, dx, dy, dz, mi, quat):
                                overlap = True
                                break
                            if is_t:  # the well is spherical: rotations never change bonds
                                if r2 < well2:
                                    delta += 1
                                if in_well(x, y, z, pos[j, 0], pos[j, 1], pos[j, 2],
                                           lx, ly, lz, well2):
                                    delta -= 1
                        if overlap:
                            break
            if overlap:
                continue
            if not metropolis(delta, beta_eps, uniform(key, base + U64(7))):
                continue
            pos[i, 0] = move[1]
            pos[i, 1] = move[2]
            pos[i, 2] = move[3]
            quat[i, 0] = move[4]
            quat[i, 1] = move[5]
            quat[i, 2] = move[6]
            quat[i, 3] = move[7]
            dbonds += delta
            if is_t:
                acc_t += 1
            else:
                acc_r += 1
        return dbonds, acc_t, n_t, acc_r, n_r

    @jit
    def update_active_cell(m, k, seed, sweep, pos, quat, cell_count, members, nx, ny, nz,
                           lx, ly, lz, d_move, a_move, beta_eps, well2):
        """Trials of the m-th active cell of the k-th set visited in `sweep` (all targets)."""
        sx, sy, sz = grid_shift(seed, sweep, lx, ly, lz)
        c = active_cell(m, (first_set(seed, sweep) + k) % 8, nx, ny, nz)
        return update_cell(c, seed, sweep, pos, quat, cell_count, members, nx, ny, nz,
                           lx, ly, lz, sx, sy, sz, d_move, a_move, beta_eps, well2)

    @jit
    def assign_cell(x, y, z, lx, ly, lz, sx, sy, sz, nx, ny, nz):
        return ((cell_coord(x, lx, sx, nx) * ny + cell_coord(y, ly, sy, ny)) * nz
                + cell_coord(z, lz, sz, nz))

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

    @jit
    def serial_trial(t, seed, sweep, pos, quat, lx, ly, lz, d_move, a_move, beta_eps, well2):
        """Trial t of a serial sweep: uniformly chosen cube, all other cubes checked.

        Returns (delta_bonds, is_translation, accepted).
        """
        n = pos.shape[0]
        key = stream_key(seed, U64(sweep), PURPOSE_SERIAL)
        base = U64(t) * U64(DRAWS)
        i = int(n * uniform(key, base))
        if i >= n:
            i = n - 1
        x = pos[i, 0]
        y = pos[i, 1]
        z = pos[i, 2]
        move = propose(key, base, x, y, z, quat[i, 0], quat[i, 1], quat[i, 2],
                       quat[i, 3], d_move, a_move, lx, ly, lz)
        is_t = move[0]
        delta = 0
        for j in range(n):
            if j == i:
                continue
            if pair_overlap(i, j, move[1], move[2], move[3], move[4], move[5], move[6], move[7],
                            pos, quat, lx, ly, lz):
                return 0, is_t, False
            if is_t:
                if in_well(move[1], move[2], move[3], pos[j, 0], pos[j, 1], pos[j, 2],
                           lx, ly, lz, well2):
                    delta += 1
                if in_well(x, y, z, pos[j, 0], pos[j, 1], pos[j, 2], lx, ly, lz, well2):
                    delta -= 1
        if not metropolis(delta, beta_eps, uniform(key, base + U64(7))):
            return 0, is_t, False
        pos[i, 0] = move[1]
        pos[i, 1] = move[2]
        pos[i, 2] = move[3]
        quat[i, 0] = move[4]
        quat[i, 1] = move[5]
        quat[i, 2] = move[6]
        quat[i, 3] = move[7]
        return delta, is_t, True

    return dict(
        splitmix64=splitmix64, stream_key=stream_key, uniform=uniform, wrap=wrap, min_image=min_image,
        cell_coord=cell_coord, grid_shift=grid_shift, first_set=first_set,
        quat_to_matrix=quat_to_matrix, cubes_overlap=cubes_overlap, boxes_overlap=boxes_overlap,
        pair_overlap=pair_overlap, overlap_at=overlap_at,
        in_well=in_well, propose=propose, metropolis=metropolis, update_cell=update_cell,
        update_active_cell=update_active_cell,
        serial_trial=serial_trial,
        assign_cell=assign_cell, active_cell=active_cell,
    )
