"""Single-source Monte Carlo kernels, compiled for the CPU (numba) and for CUDA (numba-cuda).

`make_kernels(jit, shape, pair)` builds every per-move function from one source for one particle
shape (a module of cubemc/shapes) and one pair energy (a module of cubemc/pairs); `cpu.py` calls
it with `numba.njit` and `gpu.py` with `cuda.jit(device=True)` (see cubemc/targets.py).  Only
scalars, tuples and arrays passed in cross function boundaries (arrays are allocated by the target
drivers), because that is what both targets accept.

Parallel update schedule (checkerboard) and why it keeps the Boltzmann distribution invariant
--------------------------------------------------------------------------------------------------
* Every sweep the grid origin is shifted by a uniform random vector and the box is cut into
  nx * ny * nz cells, each axis count even and each cell at least as wide as the interaction range
  r_int = max(largest circumsphere diameter, pair-energy cutoff of the largest pair).  Cells are
  split into 8 sets by the parity of their indices.
* The 8 sets are visited in turn (random starting set).  Within a set, every active cell does n_c
  trials, n_c = its number of cubes; a trial picks one of those cubes uniformly, proposes a
  symmetric translation or rotation, rejects it if the cube would leave the cell or overlap, and
  accepts it with the Metropolis probability min(1, exp(-beta_eps * delta_units)), where the pair
  energy counts integer units (bonds, for the square well).
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

* Particle sizes (polydispersity, cuboids, rounded cubes): the pair energy of i and j scales with
  their mean size (s_i + s_j) / 2 (`pair_units`), which is symmetric in i and j and never changes
  (moves do not touch shape parameters), so U = sum over pairs of u_ij is a function of the
  configuration and delta_units is its exact change: the argument above holds unchanged.  The
  neighbour search covers the largest pair (reach = lambda * s_max, circumsphere of the largest
  particle), so no interacting or overlapping pair is skipped.

Conventions: quaternions (w, x, y, z); touching counts as overlapping (the shape's test decides);
energy is kept as an integer count of pair units (bonds), so it never drifts.

Random numbers: splitmix64 chained over (seed, sweep, stream), then mixed with a counter; the
stream encodes the purpose (cell trial, serial trial, grid shift) and the cell, so results do not
depend on thread scheduling and a restart at sweep s reproduces the uninterrupted run bit for bit.
"""

import math

from .kernel_basics import DRAWS, PURPOSE_CELL, PURPOSE_SERIAL, U64, grid_functions, random_functions


def make_kernels(jit, shape, pair, inline=None):
    """Compile the per-move functions for `shape` and `pair` with `jit`; return them in a dict.

    `inline` (default `jit`) compiles the functions called once per neighbour pair: the shape's
    (if it sets INLINE = True) and the pair energy's functions, the pair overlap and energy, and
    the neighbour search.  The CPU passes numba.njit(inline="always"), which splices them into
    their callers: numba compiles each function separately and LLVM does not inline across them
    (measured: 20 % of the per-core speed at N = 8000).  CUDA inlines device functions itself.
    """
    tag = f"{shape.NAME}_{pair.NAME}"
    jit = named(jit, tag)
    hot = jit if inline is None else named(inline, tag)
    k = random_functions(jit)
    k.update(grid_functions(jit, k))
    k.update(_size_defaults(hot))  # for shapes and pair energies that predate particle sizes
    # a large overlap test (rounded cuboids) spliced into every caller would multiply the
    # compile time (measured: minutes), so a shape opts in with INLINE = True
    k.update(shape.make(hot if getattr(shape, "INLINE", False) else jit))
    energy = pair.make(hot)
    k.update(energy)
    if "units_sized" not in energy:
        k["units_sized"] = _size_independent(hot, k["units"])
    k.update(_pair_functions(hot, k))
    k.update(_move_functions(jit, k))
    k.update(_trial_functions(jit, hot, k, pair.ISOTROPIC))
    return k


def named(jit, tag):
    """`jit` that first appends `tag` to each function's qualified name.

    numba names compiled code by module and qualified name (plus a per-process counter), which the
    closures here share across specialisations; two cached specialisations loaded into one process
    (e.g. cubes, then cuboids) then linked to each other's functions.  The tag keeps them apart.
    """

    def named_jit(fn):
        fn.__qualname__ = f"{fn.__qualname__}__{tag}"
        return jit(fn)

    return named_jit


def _size_defaults(jit):
    @jit
    def size(params, i):
        """Size of a particle of a shape without sizes: 1."""
        return 1.0

    return {"size": size}


def _size_independent(jit, units):
    @jit
    def units_sized(dx, dy, dz, r2, mi, quat, j, pair_params, scale):
        """A pair energy without a length scale ignores the particles' sizes."""
        return units(dx, dy, dz, r2, mi, quat, j, pair_params)

    return units_sized


def _pair_functions(jit, k):
    """Overlap and energy of one pair, from the shape's and the pair energy's device functions."""
    min_image, pair_bounds, shape_overlap = k["min_image"], k["pair_bounds"], k["overlap"]
    units_sized, size = k["units_sized"], k["size"]

    @jit
    def quat_to_matrix(w, x, y, z):
        """Row-major rotation matrix; column k is body axis k in the lab frame."""
        return (
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
            2.0 * (x * y + w * z),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - w * x),
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            1.0 - 2.0 * (x * x + y * y),
        )

    @jit
    def overlap_at(i, j, dx, dy, dz, mi, quat, shapes):
        """Overlap of particle i (matrix mi) with particle j at offset (dx, dy, dz) from i.

        The pair is always evaluated with the lower index first so that i-j and j-i round alike.
        """
        r2 = dx * dx + dy * dy + dz * dz
        outer2, inner2 = pair_bounds(shapes, i, j)
        if r2 >= outer2:
            return False
        if r2 < inner2:  # inspheres overlap
            return True
        mj = quat_to_matrix(quat[j, 0], quat[j, 1], quat[j, 2], quat[j, 3])
        if i < j:
            return shape_overlap(dx, dy, dz, mi, mj, shapes, i, j)
        return shape_overlap(-dx, -dy, -dz, mj, mi, shapes, j, i)

    @jit
    def overlap_of(i, j, dx, dy, dz, mi, mj, shapes):
        """overlap_at with both rotation matrices given (callers that convert each quaternion
        once): the same tests in the same order, so the same answer bit for bit."""
        r2 = dx * dx + dy * dy + dz * dz
        outer2, inner2 = pair_bounds(shapes, i, j)
        if r2 >= outer2:
            return False
        if r2 < inner2:
            return True
        if i < j:
            return shape_overlap(dx, dy, dz, mi, mj, shapes, i, j)
        return shape_overlap(-dx, -dy, -dz, mj, mi, shapes, j, i)

    @jit
    def pair_units(i, j, dx, dy, dz, r2, mi, quat, shapes, pair_params):
        """Energy units of the non-overlapping pair i (matrix mi), j at (dx, dy, dz) from i.

        The pair energy's lengths scale with the pair's mean size (s_i + s_j) / 2, symmetric in
        i and j; for unit sizes the scale is exactly 1.0 and the energy is that of size 1.
        """
        scale = 0.5 * (size(shapes, i) + size(shapes, j))
        return units_sized(dx, dy, dz, r2, mi, quat, j, pair_params, scale)

    @jit
    def offset(pos, i, j, box):
        """Minimum-image offset of particle j from particle i and its square."""
        dx = min_image(pos[j, 0] - pos[i, 0], box[0])
        dy = min_image(pos[j, 1] - pos[i, 1], box[1])
        dz = min_image(pos[j, 2] - pos[i, 2], box[2])
        return dx, dy, dz, dx * dx + dy * dy + dz * dz

    @jit
    def pair_state(i, j, pos, quat, shapes, box, pair_params):
        """(overlap, energy units) of particles i and j as they are in the arrays."""
        dx, dy, dz, r2 = offset(pos, i, j, box)
        mi = quat_to_matrix(quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3])
        if overlap_at(i, j, dx, dy, dz, mi, quat, shapes):
            return True, 0
        return False, pair_units(i, j, dx, dy, dz, r2, mi, quat, shapes, pair_params)

    return dict(
        quat_to_matrix=quat_to_matrix,
        overlap_at=overlap_at,
        pair_units=pair_units,
        overlap_of=overlap_of,
        offset=offset,
        pair_state=pair_state,
    )


def _move_functions(jit, k):
    uniform, gaussian_pair, wrap = k["uniform"], k["gaussian_pair"], k["wrap"]

    @jit
    def propose(key, base, x, y, z, q0, q1, q2, q3, d_move, a_move, lx, ly, lz):  # noqa: PLR0913
        """Symmetric trial move of one particle (14 scalars: both targets pass scalars cheaply).

        Translation: uniform in a ball of radius d_move (direction from 3 Gaussians, radius d*u^(1/3)).
        Rotation: q' = (q + a*w)/|q + a*w| with w uniform on S^3, which is as likely as its inverse.
        Returns (is_translation, x', y', z', q0', q1', q2', q3').
        """
        c = U64(base)
        g0, g1 = gaussian_pair(uniform(key, c + U64(2)), uniform(key, c + U64(3)))
        g2, g3 = gaussian_pair(uniform(key, c + U64(4)), uniform(key, c + U64(5)))
        if uniform(key, c + U64(1)) <= 0.5:
            norm = math.sqrt(g0 * g0 + g1 * g1 + g2 * g2)
            if norm == 0.0:
                norm = 1.0
            r = d_move * math.pow(uniform(key, c + U64(6)), 1.0 / 3.0) / norm
            return (True, wrap(x + r * g0, lx), wrap(y + r * g1, ly), wrap(z + r * g2, lz), q0, q1, q2, q3)
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
    def metropolis(delta_units, beta_eps, u):
        du = beta_eps * delta_units
        if du <= 0.0:
            return True
        return u < math.exp(-du)

    @jit
    def commit(i, move, pos, quat):
        pos[i, 0] = move[1]
        pos[i, 1] = move[2]
        pos[i, 2] = move[3]
        quat[i, 0] = move[4]
        quat[i, 1] = move[5]
        quat[i, 2] = move[6]
        quat[i, 3] = move[7]

    return dict(propose=propose, metropolis=metropolis, commit=commit)


def _trial_functions(jit, hot, k, isotropic):  # noqa: C901 (the per-cell loop stays in one piece)
    """Trials of one checkerboard cell and of the serial reference schedule.

    `isotropic` (the pair module's ISOTROPIC) is frozen into the compiled code: rotations of an
    isotropic pair energy never change it, so their energy is not evaluated.
    """
    stream_key, uniform, min_image = k["stream_key"], k["uniform"], k["min_image"]
    cell_coord, grid_shift, first_set = k["cell_coord"], k["grid_shift"], k["first_set"]
    active_cell, quat_to_matrix, overlap_at = k["active_cell"], k["quat_to_matrix"], k["overlap_at"]
    pair_units, reach_of, propose = k["pair_units"], k["reach"], k["propose"]
    metropolis, commit = k["metropolis"], k["commit"]

    @hot
    def neighbour_change(i, move, x, y, z, pos, quat, shapes, cells, c, grid, box, reach2, pair_params):  # noqa: PLR0913 (hot path: arrays and scalars, no structs)
        """(overlap, change in energy units) of the trial `move` of particle i, which sits at
        (x, y, z) in cell c; only the 27 (or fewer) neighbouring cells are searched."""
        cell_count, members = cells
        nx, ny, nz = grid
        lx, ly, lz = box
        cz = c % nz
        cy = (c // nz) % ny
        cx = c // (nz * ny)
        # neighbour cell offsets; with 2 cells along an axis, -1 and +1 are the same cell
        lo_x = -1 if nx > 2 else 0
        lo_y = -1 if ny > 2 else 0
        lo_z = -1 if nz > 2 else 0
        is_t = move[0]
        mi = quat_to_matrix(move[4], move[5], move[6], move[7])
        # a translation keeps the orientation (move[4:8] is quat[i]): mi is the old matrix too
        mi_old = mi
        if not is_t and not isotropic:
            mi_old = quat_to_matrix(quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3])
        delta = 0
        for ox in range(lo_x, 2):
            mx = (cx + ox + nx) % nx
            for oy in range(lo_y, 2):
                my = (cy + oy + ny) % ny
                for oz in range(lo_z, 2):
                    m = (mx * ny + my) * nz + (cz + oz + nz) % nz
                    for s in range(min(cell_count[m], members.shape[1])):
                        j = members[m, s]
                        if j == i:
                            continue
                        dx = min_image(pos[j, 0] - move[1], lx)
                        dy = min_image(pos[j, 1] - move[2], ly)
                        dz = min_image(pos[j, 2] - move[3], lz)
                        r2 = dx * dx + dy * dy + dz * dz
                        if r2 >= reach2:
                            continue  # no overlap now, no interaction now or before the move
                        if overlap_at(i, j, dx, dy, dz, mi, quat, shapes):
                            return True, 0
                        if is_t or not isotropic:
                            delta += pair_units(i, j, dx, dy, dz, r2, mi, quat, shapes, pair_params)
                            ex = min_image(pos[j, 0] - x, lx)
                            ey = min_image(pos[j, 1] - y, ly)
                            ez = min_image(pos[j, 2] - z, lz)
                            delta -= pair_units(
                                i,
                                j,
                                ex,
                                ey,
                                ez,
                                ex * ex + ey * ey + ez * ez,
                                mi_old,
                                quat,
                                shapes,
                                pair_params,
                            )
        return False, delta

    @jit
    def update_cell(c, seed, sweep, pos, quat, shapes, cells, grid, box, shift, moves, pair_params):  # noqa: PLR0913 (device function: no structs on both targets)
        """All trials of one active cell; returns (delta_units, acc_t, n_t, acc_r, n_r).

        moves = (translation size, rotation size, beta_epsilon, largest overlap distance^2).
        """
        cell_count, members = cells
        nx, ny, nz = grid
        lx, ly, lz = box
        sx, sy, sz = shift
        d_move, a_move, beta_eps, outer2 = moves
        cz = c % nz
        cy = (c // nz) % ny
        cx = c // (nz * ny)
        # clamp: an overflowing cell (only possible with overlaps) is reported by the caller
        n_c = min(cell_count[c], members.shape[1])
        key = stream_key(seed, U64(sweep), PURPOSE_CELL | U64(c))
        dunits = 0
        acc_t = 0
        n_t = 0
        acc_r = 0
        n_r = 0
        # a translation moves a particle by at most d_move, so a neighbour farther than
        # max(overlap distance, reach + d_move) from the new position neither overlaps nor was
        # interacting before
        reach = reach_of(pair_params) + d_move
        reach2 = max(outer2, reach * reach)
        for t in range(n_c):
            base = U64(t) * U64(DRAWS)
            kk = int(n_c * uniform(key, base))
            if kk >= n_c:
                kk = n_c - 1
            i = members[c, kk]
            x = pos[i, 0]
            y = pos[i, 1]
            z = pos[i, 2]
            move = propose(
                key, base, x, y, z, quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3], d_move, a_move, lx, ly, lz
            )
            is_t = move[0]
            if is_t:
                n_t += 1
                if (
                    cell_coord(move[1], lx, sx, nx) != cx
                    or cell_coord(move[2], ly, sy, ny) != cy
                    or cell_coord(move[3], lz, sz, nz) != cz
                ):
                    continue  # leaving the cell is rejected (both directions alike)
            else:
                n_r += 1
            overlap, delta = neighbour_change(
                i, move, x, y, z, pos, quat, shapes, cells, c, grid, box, reach2, pair_params
            )
            if overlap:
                continue
            if not metropolis(delta, beta_eps, uniform(key, base + U64(7))):
                continue
            commit(i, move, pos, quat)
            dunits += delta
            if is_t:
                acc_t += 1
            else:
                acc_r += 1
        return dunits, acc_t, n_t, acc_r, n_r

    @jit
    def update_active_cell(m, kset, seed, sweep, pos, quat, shapes, cells, grid, box, moves, pair_params):  # noqa: PLR0913 (device function: no structs)
        """Trials of the m-th active cell of the kset-th set visited in `sweep` (all targets)."""
        shift = grid_shift(seed, sweep, box[0], box[1], box[2])
        c = active_cell(m, (first_set(seed, sweep) + kset) % 8, grid[0], grid[1], grid[2])
        return update_cell(c, seed, sweep, pos, quat, shapes, cells, grid, box, shift, moves, pair_params)

    @jit
    def serial_trial(t, seed, sweep, pos, quat, shapes, box, moves, pair_params):  # noqa: PLR0913
        """Trial t of a serial sweep: uniformly chosen particle, all others checked.

        Returns (delta_units, is_translation, accepted).
        """
        n = pos.shape[0]
        lx, ly, lz = box
        d_move, a_move, beta_eps, _ = moves
        key = stream_key(seed, U64(sweep), PURPOSE_SERIAL)
        base = U64(t) * U64(DRAWS)
        i = int(n * uniform(key, base))
        if i >= n:
            i = n - 1
        x = pos[i, 0]
        y = pos[i, 1]
        z = pos[i, 2]
        move = propose(
            key, base, x, y, z, quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3], d_move, a_move, lx, ly, lz
        )
        is_t = move[0]
        mi = quat_to_matrix(move[4], move[5], move[6], move[7])
        mi_old = mi  # as in neighbour_change
        if not is_t and not isotropic:
            mi_old = quat_to_matrix(quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3])
        delta = 0
        for j in range(n):
            if j == i:
                continue
            dx = min_image(pos[j, 0] - move[1], lx)
            dy = min_image(pos[j, 1] - move[2], ly)
            dz = min_image(pos[j, 2] - move[3], lz)
            if overlap_at(i, j, dx, dy, dz, mi, quat, shapes):
                return 0, is_t, False
            if is_t or not isotropic:
                delta += pair_units(
                    i, j, dx, dy, dz, dx * dx + dy * dy + dz * dz, mi, quat, shapes, pair_params
                )
                ex = min_image(pos[j, 0] - x, lx)
                ey = min_image(pos[j, 1] - y, ly)
                ez = min_image(pos[j, 2] - z, lz)
                delta -= pair_units(
                    i, j, ex, ey, ez, ex * ex + ey * ey + ez * ez, mi_old, quat, shapes, pair_params
                )
        if not metropolis(delta, beta_eps, uniform(key, base + U64(7))):
            return 0, is_t, False
        commit(i, move, pos, quat)
        return delta, is_t, True

    return dict(
        neighbour_change=neighbour_change,
        update_cell=update_cell,
        update_active_cell=update_active_cell,
        serial_trial=serial_trial,
    )
