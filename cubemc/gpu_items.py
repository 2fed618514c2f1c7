"""One work item of each phase of a GPU sweep, as CUDA device functions built per (shape, pair).

Clear, assign and sort the cell list (one item per cell or particle), and the trials of one active
cell, either by one thread (`cell_at`, layout "cell") or by a group of lanes (`tile_at`, layouts
"tile" and "fused:T>1").  The separate kernels and the fused one of cubemc/gpu.py call the same
functions; the layouts, and why each makes the same trials with the same outcomes as the CPU, are
described there.
"""

from numba import cuda

from cubemc.kernel_basics import DRAWS, PURPOSE_CELL, U64


def make_items(k, isotropic):
    """The per-item device functions over `k` = make_kernels(cuda.jit(device=True), shape, pair);
    `isotropic` is the pair energy's ISOTROPIC (frozen into the code, as in
    kernels.neighbour_change)."""
    out = _cell_items(k)
    out.update(_tile_items(k, isotropic, out["add_counts"]))
    return out


def _cell_items(k):
    """The cell-list phases and the thread-per-cell trials."""
    update_active_cell = k["update_active_cell"]
    assign_cell = k["assign_cell"]
    grid_shift = k["grid_shift"]

    @cuda.jit(device=True)
    def _clear_at(q, cell_count):
        cell_count[q // cell_count.shape[1], q % cell_count.shape[1]] = 0

    @cuda.jit(device=True)
    def _assign_at(q, pos, boxes, grids, seeds, sweep0, s, cell_count, members, status):
        n = pos.shape[1]
        b = q // n
        i = q % n
        sx, sy, sz = grid_shift(seeds[b], sweep0[b] + s, boxes[b, 0], boxes[b, 1], boxes[b, 2])
        c = assign_cell(
            pos[b, i, 0],
            pos[b, i, 1],
            pos[b, i, 2],
            boxes[b, 0],
            boxes[b, 1],
            boxes[b, 2],
            sx,
            sy,
            sz,
            grids[b, 0],
            grids[b, 1],
            grids[b, 2],
        )
        k = cuda.atomic.add(cell_count, (b, c), 1)
        if k < members.shape[2]:
            members[b, c, k] = i
        else:
            status[0] = 1

    @cuda.jit(device=True)
    def _sort_at(q, cell_count, members):
        b = q // cell_count.shape[1]
        c = q % cell_count.shape[1]
        n = min(cell_count[b, c], members.shape[2])
        for a in range(1, n):  # insertion sort: cells hold a handful of particles
            v = members[b, c, a]
            r = a - 1
            while r >= 0 and members[b, c, r] > v:
                members[b, c, r + 1] = members[b, c, r]
                r -= 1
            members[b, c, r + 1] = v

    @cuda.jit(device=True)
    def _add_counts(counts, b, r):
        for q in range(5):
            if r[q] != 0:
                cuda.atomic.add(counts, (b, q), r[q])

    @cuda.jit(device=True)
    def _cell_at(
        t,
        kset,
        owner,
        offsets,
        pos,
        quat,
        shapes,
        boxes,
        grids,
        seeds,
        sweep0,
        s,
        cell_count,
        members,
        moves,
        pair_params,
        counts,
    ):  # noqa: PLR0913 (all arrays)
        """Thread-per-cell layout: every trial of the t-th active cell (over all systems) in turn."""
        b = owner[t]
        r = update_active_cell(
            t - offsets[b],
            kset,
            seeds[b],
            sweep0[b] + s,
            pos[b],
            quat[b],
            shapes[b],
            (cell_count[b], members[b]),
            (grids[b, 0], grids[b, 1], grids[b, 2]),
            (boxes[b, 0], boxes[b, 1], boxes[b, 2]),
            (moves[b, 0], moves[b, 1], moves[b, 2], moves[b, 3]),
            pair_params[b],
        )
        _add_counts(counts, b, r)

    return dict(
        clear_at=_clear_at, assign_at=_assign_at, sort_at=_sort_at, add_counts=_add_counts, cell_at=_cell_at
    )


def _tile_items(k, isotropic, _add_counts):
    """The trials of one active cell by a group of `lanes` threads (the tile layout)."""
    grid_shift, first_set, active_cell = k["grid_shift"], k["first_set"], k["active_cell"]
    stream_key, uniform, cell_coord = k["stream_key"], k["uniform"], k["cell_coord"]
    propose, metropolis, commit = k["propose"], k["metropolis"], k["commit"]
    overlap_at, min_image, quat_to_matrix = k["overlap_at"], k["min_image"], k["quat_to_matrix"]
    reach_of, pair_units = k["reach"], k["pair_units"]

    @cuda.jit(device=True)
    def _pair_change(i, j, move, x, y, z, mi, mi_old, pos, quat, shapes, box, reach2, pair_params):
        """(overlap, change in energy units) between the trial `move` of particle i (which sits at
        (x, y, z)) and neighbour j: the loop body of kernels.neighbour_change for one pair.  Kept
        twice on purpose: kernels.py calling one shared function per pair, even inlined, cost the
        CPU 35-40 % of its speed (2 threads, N = 999 and 7 999, 2026-12-04)."""
        lx, ly, lz = box
        dx = min_image(pos[j, 0] - move[1], lx)
        dy = min_image(pos[j, 1] - move[2], ly)
        dz = min_image(pos[j, 2] - move[3], lz)
        r2 = dx * dx + dy * dy + dz * dz
        if r2 >= reach2:
            return False, 0  # no overlap now, no interaction now or before the move
        if overlap_at(i, j, dx, dy, dz, mi, quat, shapes):
            return True, 0
        if move[0] or not isotropic:
            ex = min_image(pos[j, 0] - x, lx)
            ey = min_image(pos[j, 1] - y, ly)
            ez = min_image(pos[j, 2] - z, lz)
            return False, (
                pair_units(i, j, dx, dy, dz, r2, mi, quat, shapes, pair_params)
                - pair_units(i, j, ex, ey, ez, ex * ex + ey * ey + ez * ez, mi_old, quat, shapes, pair_params)
            )
        return False, 0

    @cuda.jit(device=True)
    def _lane_change(
        lane, lanes, i, move, x, y, z, pos, quat, shapes, cells, c, grid, box, reach2, pair_params
    ):  # noqa: PLR0913 (hot path: arrays and scalars, no structs)
        """(overlap, energy change) of the trial over this lane's share of the neighbours: the
        members of the 27 (or fewer) neighbouring cells, numbered in cell order, dealt round-robin."""
        cell_count, members = cells
        nx, ny, nz = grid
        cz = c % nz
        cy = (c // nz) % ny
        cx = c // (nz * ny)
        # neighbour cell offsets; with 2 cells along an axis, -1 and +1 are the same cell
        lo_x = -1 if nx > 2 else 0
        lo_y = -1 if ny > 2 else 0
        lo_z = -1 if nz > 2 else 0
        mi = quat_to_matrix(move[4], move[5], move[6], move[7])
        mi_old = quat_to_matrix(quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3])
        delta = 0
        seen = 0  # candidates in the cells before this one
        for ox in range(lo_x, 2):
            mx = (cx + ox + nx) % nx
            for oy in range(lo_y, 2):
                my = (cy + oy + ny) % ny
                for oz in range(lo_z, 2):
                    m = (mx * ny + my) * nz + (cz + oz + nz) % nz
                    n_m = min(cell_count[m], members.shape[1])
                    k = (lane + lanes - seen % lanes) % lanes  # this lane's first member of cell m
                    while k < n_m:
                        j = members[m, k]
                        if j != i:
                            overlap, d = _pair_change(
                                i, j, move, x, y, z, mi, mi_old, pos, quat, shapes, box, reach2, pair_params
                            )
                            if overlap:
                                return True, 0
                            delta += d
                        k += lanes
                    seen += n_m
        return False, delta

    @cuda.jit(device=True)
    def _tile_trials(
        c,
        n_c,
        n_max,
        lane,
        lanes,
        group,
        seed,
        sweep,
        pos,
        quat,
        shapes,
        cells,
        grid,
        box,
        shift,
        moves,
        pair_params,
        sh_over,
        sh_du,
    ):  # noqa: PLR0913, C901
        """The trials of active cell c (n_c of them) by the `lanes` threads of one group, as
        kernels.update_cell makes them; returns its (delta_units, acc_t, n_t, acc_r, n_r) in lane 0.

        Every thread of the block calls this with the same n_max (the most trials of any cell of the
        block), because the trials are separated by block barriers.
        """
        members = cells[1]
        nx, ny, nz = grid
        lx, ly, lz = box
        sx, sy, sz = shift
        d_move, a_move, beta_eps, outer2 = moves
        cz = c % nz
        cy = (c // nz) % ny
        cx = c // (nz * ny)
        key = stream_key(seed, U64(sweep), PURPOSE_CELL | U64(c))
        reach = reach_of(pair_params) + d_move
        reach2 = max(outer2, reach * reach)
        dunits = 0
        acc_t = 0
        n_t = 0
        acc_r = 0
        n_r = 0
        i = 0
        move = (False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        for t in range(n_max):
            base = U64(t) * U64(DRAWS)
            tried = False
            if t < n_c:
                kk = int(n_c * uniform(key, base))
                if kk >= n_c:
                    kk = n_c - 1
                i = members[c, kk]
                x = pos[i, 0]
                y = pos[i, 1]
                z = pos[i, 2]
                move = propose(
                    key,
                    base,
                    x,
                    y,
                    z,
                    quat[i, 0],
                    quat[i, 1],
                    quat[i, 2],
                    quat[i, 3],
                    d_move,
                    a_move,
                    lx,
                    ly,
                    lz,
                )
                tried = True
                if move[0]:
                    n_t += 1
                    if (
                        cell_coord(move[1], lx, sx, nx) != cx
                        or cell_coord(move[2], ly, sy, ny) != cy
                        or cell_coord(move[3], lz, sz, nz) != cz
                    ):
                        tried = False  # leaving the cell is rejected (both directions alike)
                else:
                    n_r += 1
                if tried:
                    overlap, d = _lane_change(
                        lane,
                        lanes,
                        i,
                        move,
                        x,
                        y,
                        z,
                        pos,
                        quat,
                        shapes,
                        cells,
                        c,
                        grid,
                        box,
                        reach2,
                        pair_params,
                    )
                    if overlap:
                        sh_over[group] = 1  # every writer writes 1: no race on the value
                    elif d != 0:
                        cuda.atomic.add(sh_du, group, d)
            cuda.syncthreads()  # all lanes' shares are in
            if lane == 0:
                if tried and sh_over[group] == 0:
                    delta = sh_du[group]
                    if metropolis(delta, beta_eps, uniform(key, base + U64(7))):
                        commit(i, move, pos, quat)
                        dunits += delta
                        if move[0]:
                            acc_t += 1
                        else:
                            acc_r += 1
                sh_over[group] = 0
                sh_du[group] = 0
            cuda.syncthreads()  # the commit is visible before the next trial reads positions
        return dunits, acc_t, n_t, acc_r, n_r

    @cuda.jit(device=True)
    def _tile_at(
        t,
        kset,
        lane,
        lanes,
        group,
        owner,
        offsets,
        pos,
        quat,
        shapes,
        boxes,
        grids,
        seeds,
        sweep0,
        s,
        cell_count,
        members,
        moves,
        pair_params,
        counts,
        sh_over,
        sh_du,
        sh_n,
    ):  # noqa: PLR0913 (all arrays)
        """Tile layout: the t-th active cell (over all systems) by one group of lanes; a group with
        t past the last cell idles.  Every thread of the block calls this (it holds barriers)."""
        valid = t < owner.shape[0]
        b = owner[t] if valid else owner[0]
        sweep = sweep0[b] + s
        box = (boxes[b, 0], boxes[b, 1], boxes[b, 2])
        grid = (grids[b, 0], grids[b, 1], grids[b, 2])
        shift = grid_shift(seeds[b], sweep, box[0], box[1], box[2])
        c = 0
        n_c = 0
        if valid:  # the same cell as update_active_cell picks
            c = active_cell(
                t - offsets[b], (first_set(seeds[b], sweep) + kset) % 8, grid[0], grid[1], grid[2]
            )
            n_c = min(cell_count[b, c], members.shape[2])
        if lane == 0:
            sh_n[group] = n_c
        cuda.syncthreads()
        n_max = 0
        for g in range(cuda.blockDim.x // lanes):
            n_max = max(n_max, sh_n[g])
        r = _tile_trials(
            c,
            n_c,
            n_max,
            lane,
            lanes,
            group,
            seeds[b],
            sweep,
            pos[b],
            quat[b],
            shapes[b],
            (cell_count[b], members[b]),
            grid,
            box,
            shift,
            (moves[b, 0], moves[b, 1], moves[b, 2], moves[b, 3]),
            pair_params[b],
            sh_over,
            sh_du,
        )
        if lane == 0 and valid:
            _add_counts(counts, b, r)
        cuda.syncthreads()  # sh_n is read by everyone before the next cell overwrites it

    @cuda.jit(device=True)
    def _zero_shared(sh_over, sh_du):
        tid = cuda.threadIdx.x
        sh_over[tid] = 0
        sh_du[tid] = 0
        cuda.syncthreads()

    return dict(tile_at=_tile_at, zero_shared=_zero_shared)
