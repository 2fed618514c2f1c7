"""Pressure of hard particles with a square well from virtual scalings (scale distribution function).

Derivation (d = 3 dimensions, beta = 1/kT, rho = N/V, lengths in units of the cube edge)
------------------------------------------------------------------------------------------
In NVT, beta P = d ln Q / dV with Q = V^N / N! * <exp(-beta U)> over scaled coordinates.  Scale
the box and every centre by (1 - x) (orientations fixed): V' = (1 - x)^d V, so for x -> 0+

    beta P = rho - lim (1 / (d x V)) ln <exp(-beta dU_x)> = rho + lim <1 - exp(-beta dU_x)> / (d x V),

where dU_x is the energy change of the compression (infinite for a hard overlap).  To first order
in x only one pair changes at a time, so <1 - exp(-beta dU_x)> = sum over pairs of P(that pair
has its event within x) * w, with w = 1 for an overlap and w = 1 - exp(-beta dU) for a pair
entering or leaving the well.  Per particle, let x_i be the smallest compression that gives an
event of i with any neighbour; each pair event belongs to two particles, so with the per-particle
histogram s_comp(x) = sum_i w_i [x_i in bin] / (N dx),

    beta P = rho (1 + s_comp(0+) / (2 d)).

An expansion by (1 + x) gives, in the same way, beta P = rho (1 - s_exp(0+) / (2 d)) with signed
weights of pairs leaving (or entering) the well.  Both one-sided estimators are exact.  HOOMD-blue
clips negative weights to 0, and so do we: at the well edge the pair density just inside is
exp(-beta eps) times the density just outside, so a compressive entry with weight
1 - exp(-beta eps) < 0 (attraction) contributes exactly what the expansive exit with weight
1 - exp(beta eps) contributes with the opposite sign.  Keeping from each side only the positive
weights (compression: overlaps, entries into a repulsive step; expansion: exits from an attractive
well) therefore gives

    beta P = rho (1 + (s_comp(0+) - s_exp(0+)) / (2 d)),     s_comp, s_exp >= 0,

which is HOOMD's beta P = rho (1 + (s_comp(0+) + s_exp(0-)) / (2 d)) with its expansive
histogram counted as negative.  Convex particles never overlap under expansion (their overlap
region in the centre offset, at fixed orientations, is convex and contains 0), so s_exp only sees
the well.  Higher-order events (two per particle within x) are O(x^2) and vanish at x -> 0.

Exact scale factors per pair: the well (a step at centre distance lambda) is crossed at
x = 1 - lambda / r (compression, r > lambda) and x = lambda / r - 1 (expansion, r < lambda); the
first overlap under compression is found by bisection on the kernels' exact overlap test, which is
valid because the overlapping scales of a pair form one interval [x*, 1) (convex shapes).  s(0+)
is the value at 0 of a least-squares polynomial through the histogram on [0, max_scale): a fixed
linear map of the histogram, so the mean of per-frame estimates equals the estimate from their
pooled histogram and block averages of the per-frame values give honest error bars.
"""

from __future__ import annotations

import math

import numpy as np

from . import targets, validate
from .errors import InputError
from .operations import Operation

DIMENSIONS = 3
#: event kinds per particle (0: none within max_scale), as in cubemc/pressure_cpu.py
OVERLAP, WELL_ENTRY, WELL_EXIT = 1, 2, 3
#: largest compression or expansion examined (HOOMD's default for unit-sized particles)
MAX_SCALE = 0.02
#: the fit range is cut where about this fraction of the particles have had their first event,
#: so the histogram stays close to its value at 0 in dense systems, where it decays like
#: exp(-s0 x): there a quadratic fit over a range with a fraction F of first events has a
#: relative bias of -1e-4 at F = 0.2 (-0.2 % at 0.5, -12 % at 0.98, which the full 0.02 range
#: reached for 64 hard cubes at beta P = 30)
RANGE_FRACTION = 0.2
#: the exponential-rate equation of fit_range is solved to this relative precision
RATE_BISECTIONS = 60
BINS = 20
DEGREE = 2
#: relative widening of the squared reach beyond which the event search skips a pair (no event
#: lies beyond the reach; the margin only guards against rounding)
REACH_MARGIN = 1e-9


def _kernels(shape, pair):
    """The compiled event search (cubemc/pressure_cpu.py) for (shape, pair)."""
    # built like the sweep drivers, so each (shape, pair) gets its own numba cache folder keyed by
    # the sources of the kernels (targets.cpu's mechanism, applied to the pressure template)
    return targets.specialise("pressure_cpu", shape, pair)


def cell_grid(box, width):
    """Cells per axis, each at least `width` wide; with fewer than 3 cells along an axis, 2 cells
    whose neighbour search covers the whole axis."""
    grid = np.floor(box / width).astype(np.int64)
    return np.where(grid >= 3, grid, 2)


def cell_lists(positions, box, width):
    """(grid, cell of each particle, order, starts): particles sorted by cell (CSR) on a grid of
    cells at least `width` wide (cell_grid)."""
    grid = cell_grid(box, width)
    cell = np.clip(((positions / box + 0.5) * grid).astype(np.int64), 0, grid - 1)
    flat = (cell[:, 0] * grid[1] + cell[:, 1]) * grid[2] + cell[:, 2]
    order = np.argsort(flat, kind="stable").astype(np.int64)
    starts = np.searchsorted(flat[order], np.arange(int(np.prod(grid)) + 1)).astype(np.int64)
    return grid, cell, order, starts


def scale_events(state, pair, well_range, beta_epsilon, max_scale=MAX_SCALE):
    """(x, kind) arrays of shape (N, 2): each particle's first compressive and expansive event.

    A well with beta_epsilon = 0 changes no energy, so its crossings are not events.  The well of
    a pair is well_range times the pair's mean size (1 for cubes), as in the kernels.
    """
    from . import shapes

    configuration = (state.positions, state.orientations, state.shape_params, state.box)
    return events_of(shapes.get(state.shape), pair, configuration, well_range, beta_epsilon, max_scale)


def events_of(shape, pair, configuration, well_range, beta_epsilon, max_scale=MAX_SCALE):  # noqa: PLR0913 (model and configuration)
    """scale_events of configuration = (positions, orientations, shape parameters, box), arrays
    that are only read (a simulation's own, without copies)."""
    if pair.NAME != "square_well":
        raise InputError(f"the pressure is implemented for the square well, not {pair.NAME!r}")
    positions, orientations, params, box = configuration
    n = positions.shape[0]
    sizes = np.asarray(shape.sizes(params, n), np.float64) if hasattr(shape, "sizes") else np.ones(n)
    lam = float(pair.cutoff(well_range)) if beta_epsilon != 0.0 else 0.0
    wells = 0.5 * lam * sizes  # the pair (i, j) has its step at wells[i] + wells[j]
    outer2 = float(shape.overlap_distance2(params))
    reach = max(math.sqrt(outer2), 2.0 * float(wells.max())) / (1.0 - max_scale)
    x = np.zeros((n, 2))
    kind = np.zeros((n, 2), np.int64)
    if reach == 0.0:  # particles that neither overlap nor interact: no events
        return x, kind
    kernels = _kernels(shape, pair)
    grid = cell_grid(box, reach)
    search = kernels.scale_events
    if grid.min() >= 3:  # each pair once, cells in 27 colours: a multiple of 3 cells per axis
        grid, search = grid // 3 * 3, kernels.pair_events
    cells = (grid, *kernels.cell_lists(positions, box, grid))
    search(
        positions,
        orientations,
        params,
        box,
        cells,
        outer2,
        wells,
        float(max_scale),
        reach * reach * (1.0 + REACH_MARGIN),
        x,
        kind,
    )
    return x, kind


def extrapolation(max_scale, bins=BINS, degree=DEGREE):
    """Coefficients c with s(0) = c @ histogram / (N dx): least-squares polynomial at 0."""
    dx = max_scale / bins
    centres = (np.arange(bins) + 0.5) * dx
    return np.linalg.pinv(np.vander(centres, degree + 1, increasing=True))[0]


def fit_range(x, kind, n, cap=MAX_SCALE):
    """max_scale for a configuration: `cap`, or less where about RANGE_FRACTION of the particles
    have had their first event (on either side) sooner (dense systems).

    The range comes from a smooth statistic of all the particles, never from an order statistic:
    the restricted mean m = <min(x_i, cap)> fixes the rate a of an exponential first-event
    distribution through m a = 1 - exp(-a cap), and the range is -ln(1 - RANGE_FRACTION) / a.  A
    range cut at the k-th first event would put a fixed number of events inside it, and since the
    two particles of a pair share its event the estimate from that same histogram is biased high
    by about 2 / k (measured: +7 % for 64 cubes, +5 % for 105, at k = 12 and 20), whereas each
    particle moves m by 1 / n only, which biases nothing measurable (64 cubes: 0.05 +- 0.22 at
    beta P = 30).  Valid for any n, so small systems are no longer fitted over the whole cap.
    """
    first = np.minimum(np.where(kind > 0, x, cap).min(axis=1), cap)
    mean = float(first.sum()) / (n * cap) if n else 1.0
    if mean >= 1.0:  # no events within the cap
        return float(cap)
    # u = a cap solves g(u) = 1 - exp(-u) - mean u = 0: g is concave with g(0) = 0 and
    # g'(0) = 1 - mean > 0, so the positive root is unique and lies in (0, 1 / mean]
    lo, hi = 0.0, 1.0 / mean
    for _ in range(RATE_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if -math.expm1(-mid) > mean * mid:
            lo = mid
        else:
            hi = mid
    scale = -math.log1p(-RANGE_FRACTION) / max(hi, 1e-300)
    return float(cap * min(1.0, max(scale, 1e-6)))


def from_events(x, kind, volume, beta_epsilon, max_scale, bins=BINS, degree=DEGREE):
    """(beta P, s_comp(0+), s_exp(0+)) from the events of one configuration."""
    n = x.shape[0]
    be = float(beta_epsilon)
    weight = np.zeros(4)
    weight[OVERLAP] = 1.0
    weight[WELL_ENTRY] = max(0.0, -math.expm1(-be))  # 1 - exp(-beta dU), dU = +eps
    weight[WELL_EXIT] = max(0.0, -math.expm1(be))  # dU = -eps
    coef = extrapolation(max_scale, bins, degree)
    dx = max_scale / bins
    s0 = []
    for side in (0, 1):
        inside = (kind[:, side] > 0) & (x[:, side] < max_scale)
        hist = np.bincount(
            np.minimum((x[inside, side] / dx).astype(np.int64), bins - 1),
            weights=weight[kind[inside, side]],
            minlength=bins,
        )
        s0.append(float(coef @ hist) / (n * dx))
    rho = n / volume
    return rho * (1.0 + (s0[0] - s0[1]) / (2 * DIMENSIONS)), s0[0], s0[1]


def measure(state, pair, well_range, beta_epsilon, max_scale=None, bins=BINS, degree=DEGREE):  # noqa: PLR0913 (the model's parameters, by name)
    """beta P sigma^3 estimated from one configuration; max_scale=None picks it (fit_range)."""
    cap = MAX_SCALE if max_scale is None else validate.fraction("max_scale", max_scale)
    bins = validate.positive_int("bins", bins)
    degree = validate.nonnegative_int("degree", degree)
    if degree >= bins:
        raise InputError(f"degree {degree} needs more than {degree} bins, got {bins}")
    x, kind = scale_events(state, pair, well_range, beta_epsilon, cap)
    scale = fit_range(x, kind, state.N, cap) if max_scale is None else cap
    return from_events(x, kind, state.volume, beta_epsilon, scale, bins, degree)[0]


def block_average(values, blocks=20):
    """(mean, standard error) of a correlated series from `blocks` equal block means (the tail
    that does not fill a block is dropped).  Needs at least 2 blocks of one value each."""
    values = np.asarray(values, np.float64).reshape(-1)
    blocks = min(validate.positive_int("blocks", blocks), len(values))
    if blocks < 2:
        raise InputError(f"block averages need at least 2 values, got {len(values)}")
    means = values[: len(values) // blocks * blocks].reshape(blocks, -1).mean(axis=1)
    return float(means.mean()), float(means.std(ddof=1) / math.sqrt(blocks))


class PressureCompute(Operation):
    """Measures beta P sigma^3 every `period` sweeps and keeps the series (sweeps, values).

    The fit range is chosen at the first measurement (unless `max_scale` is given) and then kept,
    so every value is the same linear map of its histogram.  The series goes into checkpoints.
    """

    def __init__(
        self,
        period: int = 10,
        max_scale: float | None = None,
        bins: int = BINS,
        degree: int = DEGREE,
        phase: int = 0,
    ):  # noqa: PLR0913 (settings, by name)
        super().__init__(period, phase)
        self.max_scale = None if max_scale is None else validate.fraction("max_scale", max_scale)
        self.bins = validate.positive_int("bins", bins)
        self.degree = validate.nonnegative_int("degree", degree)
        self.sweeps: list[int] = []
        self.values: list[float] = []

    def act(self, sim):
        positions, orientations, params = sim.arrays()  # read at once, never kept
        box = sim.box
        configuration = (positions, orientations, params, box)
        x, kind = events_of(
            sim.shape, sim.pair, configuration, sim.well_range, sim.beta_epsilon, self.max_scale or MAX_SCALE
        )
        if self.max_scale is None:
            self.max_scale = fit_range(x, kind, sim.N)
        volume = float(np.prod(box))
        value = from_events(x, kind, volume, sim.beta_epsilon, self.max_scale, self.bins, self.degree)[0]
        self.sweeps.append(sim.sweep)
        self.values.append(value)

    def average(self, blocks=20):
        """(mean, standard error) of the measured beta P from block averages."""
        return block_average(self.values, blocks)

    def checkpoint_data(self) -> dict:
        return {
            "pressure_sweeps": np.array(self.sweeps, np.int64),
            "pressure_values": np.array(self.values, np.float64),
            "pressure_settings": np.array(
                [
                    self.period,
                    self.phase,
                    np.nan if self.max_scale is None else self.max_scale,
                    self.bins,
                    self.degree,
                ],
                np.float64,
            ),
        }

    @classmethod
    def from_checkpoint_data(cls, data) -> PressureCompute:
        period, phase, max_scale, bins, degree = (float(v) for v in data["pressure_settings"])
        op = cls(
            int(period), None if math.isnan(max_scale) else max_scale, int(bins), int(degree), int(phase)
        )
        op.sweeps = [int(s) for s in data["pressure_sweeps"]]
        op.values = [float(v) for v in data["pressure_values"]]
        return op
