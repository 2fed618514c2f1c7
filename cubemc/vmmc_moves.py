"""Virtual-move Monte Carlo (VMMC) moves, single source for the CPU and CUDA.

`move_functions(jit, k, tag)` compiles the moves with `jit` (numba.njit for cubemc/vmmc_kernels.py,
cuda.jit(device=True) for cubemc/gpu_vmmc.py) on top of `k`, the specialised kernels of one
(shape, pair energy) from `cubemc.kernels.make_kernels`.  As there, only scalars, tuples and
arrays cross function boundaries and nothing is allocated here: the target drivers pass every
array in.  The algorithm and its detailed-balance argument are in the docstring of cubemc/vmmc.py.
Pair energies and overlaps come from the kernels' `pair_units` and `overlap_at` (the two halves of
`pair_state`), always called with the lower index first, exactly as `count_pairs` recounts them,
so the running bond count stays an exact integer.

Random numbers: one stream per move, key = stream_key(seed, sweep, PURPOSE_VMMC | move index);
draws 0-12 choose the seed particle, the move, the size cutoff and the pivot, and the t-th link
test of the move uses draw FIRST_LINK_DRAW + t.  Both targets therefore make the same moves.
"""

import math

import numpy as np

from cubemc.kernels import named
from cubemc.vmmc_cells import cell_functions

U64 = np.uint64
#: purpose bits of the VMMC streams (kernel_basics: 1-3 for sweeps; cubemc.npt: 4 for box moves)
PURPOSE_VMMC = U64(5) << U64(48)
FIRST_LINK_DRAW = 16
#: status of a move
ACCEPTED, CUTOFF, TOO_WIDE, FRUSTRATED, OVERFLOW = 0, 1, 2, 3, 4
#: counters: translations tried/accepted, rotations tried/accepted, rejections (cluster-size
#: cutoff, rotation of a cluster too wide for the box, frustrated link), sum and largest size of
#: accepted clusters
N_COUNTS = 9
#: threads per system of the CUDA layouts (cubemc/gpu_vmmc.py: 1 thread, or a block of lanes)
GPU_LANES = (1, 2, 4, 8, 16, 32, 64)


def move_functions(jit, k, tag):  # noqa: C901, PLR0915 (one closure per compiled function)
    """The VMMC functions compiled with `jit` for the kernels `k`, by name; `tag` (the
    specialisation, e.g. "cube_square_well") keeps compiled names apart (kernels.named)."""
    jit = named(jit, "vmmc_" + tag)
    wrap = k["wrap"]
    c = cell_functions(jit, wrap)
    build_cells, cell_index = c["build_cells"], c["cell_index"]
    geometry, list_cells, relocate, rotate = c["geometry"], c["list_cells"], c["relocate"], c["rotate"]
    energy_units, overlap_at = k["pair_units"], k["overlap_at"]
    quat_to_matrix, offset = k["quat_to_matrix"], k["offset"]
    # the engine's nearest image (comparisons, no division) for the scan's distance filter: it and
    # `wrap` (floor) differ only within rounding of |d| = L / 2, no nearer than the
    # interaction range (the box is at least two ranges wide), where a pair neither links nor draws
    near_image = k["min_image"]
    stream_key, uniform, gaussian_pair = k["stream_key"], k["uniform"], k["gaussian_pair"]

    @jit
    def _unit_vector(key, first):
        """Uniformly random direction from draws first .. first + 3."""
        g0, g1 = gaussian_pair(uniform(key, U64(first)), uniform(key, U64(first + 1)))
        g2, _ = gaussian_pair(uniform(key, U64(first + 2)), uniform(key, U64(first + 3)))
        norm = math.sqrt(g0 * g0 + g1 * g1 + g2 * g2)
        if norm == 0.0:
            return 0.0, 0.0, 0.0  # measure zero: a null vector, as likely forwards as backwards
        return g0 / norm, g1 / norm, g2 / norm

    @jit
    def propose(key, n, sizes):
        """(seed particle, move) of one VMMC step; sizes = (translation, rotation angle,
        P(translation), pivot radius).

        move = (is_translation, tx, ty, tz, qw, qx, qy, qz, reach_factor, bx, by, bz): a translation
        by t uniform in a ball, or a rotation by the quaternion q (angle uniform in [-a, a] about a
        uniformly random axis) about the pivot r_seed + R_seed b, b uniform in a ball in the seed's
        body frame; every move is as likely as its inverse.  A particle at distance r from the pivot
        moves by at most reach_factor * r (rotations) or reach_factor (translations).
        """
        seed = min(int(n * uniform(key, U64(0))), n - 1)
        ex, ey, ez = _unit_vector(key, 2)
        size = uniform(key, U64(6))
        if uniform(key, U64(1)) <= sizes[2]:
            r = sizes[0] * size ** (1.0 / 3.0)
            return seed, (1.0, r * ex, r * ey, r * ez, 1.0, 0.0, 0.0, 0.0, r, 0.0, 0.0, 0.0)
        half = 0.5 * sizes[1] * (2.0 * size - 1.0)
        s = math.sin(half)
        bx, by, bz = _unit_vector(key, 8)
        b = sizes[3] * uniform(key, U64(12)) ** (1.0 / 3.0)
        w = math.cos(half)
        return seed, (0.0, 0.0, 0.0, 0.0, w, s * ex, s * ey, s * ez, 2.0 * abs(s), b * bx, b * by, b * bz)

    @jit
    def pivot(seed, mv, pos, quat, box):
        """Rotation centre: the seed's centre plus its body-frame pivot offset (a point the rotation
        leaves fixed, so the reverse move has the same centre)."""
        ox, oy, oz = rotate(quat[seed, 0], quat[seed, 1], quat[seed, 2], quat[seed, 3], mv[9], mv[10], mv[11])
        return (
            wrap(pos[seed, 0] + ox, box[0]),
            wrap(pos[seed, 1] + oy, box[1]),
            wrap(pos[seed, 2] + oz, box[2]),
        )

    @jit
    def moved(i, sign, mv, centre, pos, quat, offsets, box):
        """Position and orientation (7-tuple) of particle i after the move (sign 1) or its inverse
        (sign -1); rotations turn i about `centre`, from which it sits at offsets[i]."""
        if mv[0] > 0.5:
            return (
                wrap(pos[i, 0] + sign * mv[1], box[0]),
                wrap(pos[i, 1] + sign * mv[2], box[1]),
                wrap(pos[i, 2] + sign * mv[3], box[2]),
                quat[i, 0],
                quat[i, 1],
                quat[i, 2],
                quat[i, 3],
            )
        w, x, y, z = mv[4], sign * mv[5], sign * mv[6], sign * mv[7]
        rx, ry, rz = rotate(w, x, y, z, offsets[i, 0], offsets[i, 1], offsets[i, 2])
        a0, a1, a2, a3 = quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3]
        p0 = w * a0 - x * a1 - y * a2 - z * a3
        p1 = w * a1 + x * a0 + y * a3 - z * a2
        p2 = w * a2 - x * a3 + y * a0 + z * a1
        p3 = w * a3 + x * a2 - y * a1 + z * a0
        qn = math.sqrt(p0 * p0 + p1 * p1 + p2 * p2 + p3 * p3)
        return (
            wrap(centre[0] + rx, box[0]),
            wrap(centre[1] + ry, box[1]),
            wrap(centre[2] + rz, box[2]),
            p0 / qn,
            p1 / qn,
            p2 / qn,
            p3 / qn,
        )

    @jit
    def place(i, s, pos, quat):
        pos[i, 0], pos[i, 1], pos[i, 2] = s[0], s[1], s[2]
        quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3] = s[3], s[4], s[5], s[6]

    @jit
    def free_units(i, j, conf, box, pair_params):
        """Energy units of i and j as placed, lower index first, if they do not overlap: pair_state
        without its overlap test (the costly part), the same units bit for bit."""
        pos, quat, shapes = conf
        a, b = (i, j) if i < j else (j, i)
        dx, dy, dz, r2 = offset(pos, a, b, box)
        ma = quat_to_matrix(quat[a, 0], quat[a, 1], quat[a, 2], quat[a, 3])
        return energy_units(a, b, dx, dy, dz, r2, ma, quat, shapes, pair_params)

    @jit
    def overlaps(i, j, conf, box):
        """pair_state's overlap test of i and j as placed, lower index first.

        It recomputes the offset and matrix that free_units found at the same placement on purpose:
        a helper sharing them (tried 2026-12-05: the same chain) made VMMC 4-7 % slower on scan
        checkpoints, and sharing the offset alone 5 % slower in the wide-well gel."""
        pos, quat, shapes = conf
        a, b = (i, j) if i < j else (j, i)
        dx, dy, dz, _ = offset(pos, a, b, box)
        ma = quat_to_matrix(quat[a, 0], quat[a, 1], quat[a, 2], quat[a, 3])
        return overlap_at(a, b, dx, dy, dz, ma, quat, shapes)

    @jit
    def link_weight(beta_eps, now, virtual, overlap):
        """max(0, 1 - exp(beta (e_now - e_virtual))); 1 for a virtual overlap (infinite energy)."""
        if overlap:
            return 1.0
        x = beta_eps * (now - virtual)
        if x >= 0.0:
            return 0.0
        return 1.0 - math.exp(x)

    @jit
    def test_pair(i, j, states, key, t, conf, box, model):
        """Link test of member i (states = its old, forward and reverse 7-tuples) with outsider j.

        Returns (outcome, units change of the pair if j stays outside, draws used): outcome 0 no
        link, 1 link (j joins), 2 frustrated (linked forwards only: the move fails unless j joins
        through another link, so its units change is never summed).  One draw u decides: link if
        u <= min(p_forward, p_reverse), p = link_weight of the pair's units now and after the
        virtual move, 1 if it overlaps then.

        An overlap only raises p to 1, so the overlap test runs only where the outcome hangs on it:
        where u <= p of the pair without overlap, it links either way.  The pair does not overlap
        now (a move starts from, and accepts only, states without overlaps).  Draws, outcomes and
        the units changes that count are those of testing every overlap.
        """
        old, fwd, rev = states
        pair_params, beta_eps = model
        pos, quat, _ = conf
        units0 = free_units(i, j, conf, box, pair_params)
        place(i, fwd, pos, quat)
        units_f = free_units(i, j, conf, box, pair_params)
        p_fwd = link_weight(beta_eps, units0, units_f, False)
        if p_fwd <= 0.0:
            if not overlaps(i, j, conf, box):
                place(i, old, pos, quat)
                return 0, units_f - units0, t  # p_forward = 0: no draw
            p_fwd = 1.0
        u = uniform(key, U64(FIRST_LINK_DRAW) + U64(t))
        if u > p_fwd and not overlaps(i, j, conf, box):
            place(i, old, pos, quat)
            return 0, units_f - units0, t + 1
        place(i, rev, pos, quat)
        units_r = free_units(i, j, conf, box, pair_params)
        linked = u <= link_weight(beta_eps, units0, units_r, False) or overlaps(i, j, conf, box)
        place(i, old, pos, quat)
        if linked:
            return 1, 0, t + 1
        return 2, units_f - units0, t + 1

    @jit
    def scan_neighbours(i, mv, centre, key, counters, conf, geo, cells, work, model):  # noqa: PLR0913 (compiled: tuples of arrays, no structs)
        """Link tests of member i with every particle outside the cluster that it could interact
        with before or after its virtual moves; returns (counters, status).

        counters = (members, frustrated, touched, draws used, size cutoff).  Only pairs that
        interact now or after the forward move are tested: any other has p_forward = 0.
        cubemc/gpu_vmmc.py `_scan_block` makes the same filter and applies the outcomes the same
        way with a block's lanes: change both together.  Helpers shared by the two (tried
        2026-12-05, same chain) made this scan 5-20 % slower on the CPU, even inlined.
        """
        box, reach, rot_limit2 = geo[0], geo[3], geo[4]
        count, members = cells[0], cells[1]
        cluster, in_cluster, offsets, frustrated, frustrated_list, pending, touched, touched_list = work
        pos, quat, _ = conf
        n_mem, n_fr, n_touch, t, cutoff = counters
        is_t = mv[0] > 0.5
        shift = mv[8]  # largest displacement of i in either virtual move
        if not is_t:
            shift *= math.sqrt(offsets[i, 0] ** 2 + offsets[i, 1] ** 2 + offsets[i, 2] ** 2)
        radius = reach + shift + 1e-9
        reach2 = reach * reach
        states = (
            (pos[i, 0], pos[i, 1], pos[i, 2], quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3]),
            moved(i, 1.0, mv, centre, pos, quat, offsets, box),
            moved(i, -1.0, mv, centre, pos, quat, offsets, box),
        )
        visit, starts = cells[4], cells[5]
        n_visit, _ = list_cells(i, states[0], states[1], radius, geo, cells, visit, starts)
        for v in range(n_visit):
            m = visit[v]
            for s in range(count[m]):
                j = members[m, s]
                if in_cluster[j]:
                    continue
                dx = near_image(pos[j, 0] - pos[i, 0], box[0])
                dy = near_image(pos[j, 1] - pos[i, 1], box[1])
                dz = near_image(pos[j, 2] - pos[i, 2], box[2])
                if dx * dx + dy * dy + dz * dz >= reach2:
                    fwd = states[1]
                    dx = near_image(pos[j, 0] - fwd[0], box[0])
                    dy = near_image(pos[j, 1] - fwd[1], box[1])
                    dz = near_image(pos[j, 2] - fwd[2], box[2])
                    if dx * dx + dy * dy + dz * dz >= reach2:
                        # no interaction now nor after the forward move: p_forward = 0, so
                        # test_pair would draw nothing and link nothing (reverse irrelevant)
                        continue
                outcome, delta, t = test_pair(i, j, states, key, t, conf, box, model)
                if outcome == 1:
                    in_cluster[j] = True
                    cluster[n_mem] = j
                    n_mem += 1
                    if n_mem > cutoff:
                        return (n_mem, n_fr, n_touch, t, cutoff), CUTOFF
                    ox = wrap(pos[j, 0] - centre[0], box[0])
                    oy = wrap(pos[j, 1] - centre[1], box[1])
                    oz = wrap(pos[j, 2] - centre[2], box[2])
                    offsets[j, 0], offsets[j, 1], offsets[j, 2] = ox, oy, oz
                    if not is_t and ox * ox + oy * oy + oz * oz >= rot_limit2:
                        return (n_mem, n_fr, n_touch, t, cutoff), TOO_WIDE
                    continue
                if not touched[j]:
                    touched[j] = True
                    touched_list[n_touch] = j
                    n_touch += 1
                pending[j] += delta
                if outcome == 2 and not frustrated[j]:
                    frustrated[j] = True
                    frustrated_list[n_fr] = j
                    n_fr += 1
        return (n_mem, n_fr, n_touch, t, cutoff), ACCEPTED

    @jit
    def seed_cluster(seed, mv, cutoff, conf, geo, work, write):  # noqa: PLR0913 (compiled: tuples of arrays, no structs)
        """The cluster {seed}: (rotation centre, status); the seed's entries written if `write`
        (one lane of a GPU block writes, every lane gets the same centre and status)."""
        cluster, in_cluster, offsets = work[0], work[1], work[2]
        pos, quat, _ = conf
        box = geo[0]
        centre = pivot(seed, mv, pos, quat, box)
        ox = wrap(pos[seed, 0] - centre[0], box[0])
        oy = wrap(pos[seed, 1] - centre[1], box[1])
        oz = wrap(pos[seed, 2] - centre[2], box[2])
        if write:
            cluster[0] = seed
            in_cluster[seed] = True
            offsets[seed, 0], offsets[seed, 1], offsets[seed, 2] = ox, oy, oz
        status = ACCEPTED if cutoff >= 1 else CUTOFF
        if mv[0] < 0.5 and ox * ox + oy * oy + oz * oz >= geo[4]:
            status = TOO_WIDE
        return centre, status

    @jit
    def unfrustrated(status, counters, work):
        """`status`, or FRUSTRATED if a frustrated link ends outside the finished cluster."""
        in_cluster, frustrated_list = work[1], work[4]
        if status == ACCEPTED:
            for k in range(counters[1]):
                if not in_cluster[frustrated_list[k]]:
                    return FRUSTRATED
        return status

    @jit
    def build_cluster(seed, mv, key, cutoff, conf, geo, cells, work, model):  # noqa: PLR0913 (compiled: tuples of arrays, no structs)
        """Recruit the cluster of `seed` breadth first; returns (counters, status, rotation centre)."""
        centre, status = seed_cluster(seed, mv, cutoff, conf, geo, work, True)
        counters = (1, 0, 0, 0, cutoff)
        head = 0
        while status == ACCEPTED and head < counters[0]:
            counters, status = scan_neighbours(
                work[0][head], mv, centre, key, counters, conf, geo, cells, work, model
            )
            head += 1
        return counters, unfrustrated(status, counters, work), centre

    @jit
    def _reset(work, counters):
        cluster, in_cluster, _, frustrated, frustrated_list, pending, touched, touched_list = work
        for k in range(counters[0]):
            in_cluster[cluster[k]] = False
        for k in range(counters[1]):
            frustrated[frustrated_list[k]] = False
        for k in range(counters[2]):
            touched[touched_list[k]] = False
            pending[touched_list[k]] = 0

    @jit
    def begin_move(key, settings, n):
        """(seed particle, move, size cutoff) of one VMMC move."""
        seed, mv = propose(key, n, (settings[0], settings[1], settings[2], settings[6]))
        cutoff = int(settings[3])
        if settings[4] > 0.5:  # cutoff drawn with P(cutoff >= n) = 1/n
            cutoff = min(cutoff, int(1.0 / uniform(key, U64(7))))
        return seed, mv, cutoff

    @jit
    def finish_move(status, counters, mv, centre, conf, geo, cells, work):  # noqa: PLR0913 (compiled: tuples of arrays, no structs)
        """Move the cluster if accepted and clear the work arrays; returns (status, units change)."""
        pos, quat, _ = conf
        box, grid = geo[0], geo[1]
        cluster, in_cluster, offsets, pending, touched_list = work[0], work[1], work[2], work[5], work[7]
        delta = 0
        if status == ACCEPTED:
            for k in range(counters[2]):
                j = touched_list[k]
                if not in_cluster[j]:
                    delta += pending[j]
            for k in range(counters[0]):
                p = cluster[k]
                s = moved(p, 1.0, mv, centre, pos, quat, offsets, box)
                place(p, s, pos, quat)
                if not relocate(p, cell_index(s[0], s[1], s[2], box, grid), cells):
                    status = OVERFLOW
        _reset(work, counters)
        return status, delta

    @jit
    def one_move(key, settings, conf, geo, cells, work, model):  # noqa: PLR0913 (compiled: tuples of arrays, no structs)
        """One VMMC move; returns (status, is_translation, cluster size, units change)."""
        seed, mv, cutoff = begin_move(key, settings, conf[0].shape[0])
        counters, status, centre = build_cluster(seed, mv, key, cutoff, conf, geo, cells, work, model)
        status, delta = finish_move(status, counters, mv, centre, conf, geo, cells, work)
        return status, mv[0] > 0.5, counters[0], delta

    @jit
    def tally(status, is_t, size, counts):
        """Count a finished move (not an overflow) in counts (N_COUNTS,)."""
        kind = 0 if is_t else 2
        counts[kind] += 1
        if status == ACCEPTED:
            counts[kind + 1] += 1
            counts[7] += size
            counts[8] = max(counts[8], size)
        else:
            counts[3 + status] += 1

    @jit
    def run_moves(conf, box, grid, cells, work, seed, sweep, n_moves, settings, pair_params, counts, trace):  # noqa: PLR0913 (one call per action and system)
        """n_moves VMMC moves of one system in place; returns (units change, ok).

        conf = (positions, orientations, shape parameters); cells = (count (cells,), members
        (cells, cap), cell of each particle, slot of each particle, visited cells (cells,), their
        starts (cells + 1,)); work = (cluster (N,) int,
        in cluster (N,) bool, offsets (N, 3), frustrated (N,) bool, frustrated list (N,) int,
        pending units (N,) int, touched (N,) bool, touched list (N,) int), the bool and pending
        arrays all False / 0 (every move leaves them so).  settings = (translation size, rotation
        size, P(translation), largest cluster, random cutoff (1/0), beta_epsilon, pivot radius,
        interaction range); grid as the simulation's cell grid; counts (N_COUNTS,) are added to;
        trace (n_moves or 0,) receives the units change after each move.  ok is False on a cell
        overflow (only possible for an overlapping configuration).
        """
        geo = geometry(box, grid, settings)
        if not build_cells(conf[0], geo[0], geo[1], cells):
            return 0, False
        model = (pair_params, settings[5])
        total = 0
        for m in range(n_moves):
            key = stream_key(U64(seed), U64(sweep), PURPOSE_VMMC | U64(m))
            status, is_t, size, delta = one_move(key, settings, conf, geo, cells, work, model)
            if status == OVERFLOW:
                return total, False
            tally(status, is_t, size, counts)
            if status == ACCEPTED:
                total += delta
            if trace.shape[0] > 0:
                trace[m] = total
        return total, True

    # every compiled function above (and the cell and kernel functions they use), by name
    return {name: f for name, f in locals().items() if name not in ("jit", "k", "c", "tag")}


def work_arrays(n_sys, n, n_cells, cap, zeros, empty):
    """(cells, work) of `run_moves` for n_sys systems (the first axis of each array), made with
    zeros(shape, dtype) and empty(shape, dtype): NumPy's on the CPU, device arrays on a GPU.
    The arrays run_moves needs zeroed (and leaves so) are zeros."""
    i8, flags = np.int64, np.bool_
    cells = (
        zeros((n_sys, n_cells), i8),
        empty((n_sys, n_cells, cap), i8),
        empty((n_sys, n), i8),
        empty((n_sys, n), i8),
        empty((n_sys, n_cells), i8),  # the cells one member's scan visits, and where their cubes start
        empty((n_sys, n_cells + 1), i8),
    )
    work = (
        empty((n_sys, n), i8),
        zeros((n_sys, n), flags),
        zeros((n_sys, n, 3), np.float64),
        zeros((n_sys, n), flags),
        empty((n_sys, n), i8),
        zeros((n_sys, n), i8),
        zeros((n_sys, n), flags),
        empty((n_sys, n), i8),
    )
    return cells, work
