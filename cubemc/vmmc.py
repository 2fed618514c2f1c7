"""Virtual-move Monte Carlo (VMMC): cluster moves recruited through pair energies, as an updater.

With strong attraction single-particle moves almost never move a bonded cluster.  VMMC moves a
cluster rigidly, recruiting its members from the energy changes that a virtual move of one
particle at a time would cause, and keeps the Boltzmann distribution invariant (Whitelam and
Geissler, J. Chem. Phys. 127, 154101 (2007); the symmetrised link rule of Whitelam, Feng, Hagan
and Geissler, Soft Matter 5, 1251 (2009)).  `VMMC` is an `Operation` acting between checkerboard
sweeps; the compiled moves are in cubemc/vmmc_kernels.py, which uses the specialised kernels'
`pair_units` and `overlap_at`, so it serves every shape and pair energy of the seams.

One move
--------
1. Draw a seed particle s uniformly, a move map M and a size cutoff n_c: a translation by t
   uniform in a ball of radius `translate_size`, or a rotation by an angle uniform in
   [-rotate_size, rotate_size] about a uniformly random axis through the pivot c = r_s + R_s b,
   b uniform in a ball of radius `pivot_radius` in the seed's body frame; n_c = floor(1/u)
   (P(n_c >= n) = 1/n) when `random_cutoff`, capped by `max_cluster`.  The pivot is a fixed
   point of the rotation (r_s' + R_s' b = c), so the reverse move, with the same s and b and the
   inverse map (drawn as likely), turns about the same point.  (About the seed's own centre,
   b = 0, an isotropic pair energy never changes and nothing would be recruited.)
2. Recruit breadth first from C = {s}.  Each member i is tested once against every particle j
   outside C that it could interact with before or after its virtual moves.  With e the current
   pair energy, e_f that with i alone moved by M and e_r that with i alone moved by M^-1 (an
   overlap counts as infinite), p_f = max(0, 1 - exp(beta (e - e_f))) and p_r likewise from e_r.
   One uniform u decides: u <= min(p_f, p_r) links i and j (j joins C); p_r < u <= p_f is a
   frustrated link; otherwise no link.
3. Reject if |C| > n_c (checked as C grows, which gives the same decision as checking at the
   end), if a rotated cluster reaches L_min/4 from the pivot, or if a frustrated link ends on a
   particle that did not join C.  Otherwise move every member by M and accept: nothing else
   enters the acceptance.

Detailed balance
----------------
Take a forward move mu -> mu' realised with seed s, map M, cutoff n_c and cluster C; the reverse
move from mu' uses the same s (it is in C), M^-1 (drawn as likely), the same n_c and must
recruit the same C.  Call a pair internal if both are in C and boundary if one is.
* Internal pairs keep their energy.  A rigid motion applied to both particles leaves a pair
  energy unchanged, so e(M^-1 i', j') = e(i, M j) = e(M^-1 i, j): in mu' the forward and reverse
  virtual energies of an internal pair are those of mu swapped, and the link probability
  r = min(p_f, p_r) is the same forwards and backwards, and the same whichever member tests the
  pair.  Frustration on an internal pair has no effect, so each tested internal pair is linked
  with r or not linked with 1 - r in both directions.
* Each pair is tested at most once, so the breadth-first search is a lazy evaluation of
  independent link variables: P(the links make C) is a sum over link patterns inside C of
  products of r and 1 - r, equal forwards and backwards.
* Every boundary pair (i in C, j not) is tested exactly once, from i, and must end with no link
  and not frustrated: probability 1 - p_f = min(1, exp(beta (e - e'))), where e' = e_f is its
  energy after the move because j stays put.  Backwards the same pair has e and e' swapped, so
  the ratio of the two products over boundary pairs is exp(beta (E' - E)) and cancels the
  Boltzmann ratio exp(-beta (E' - E)) exactly (only boundary pairs change energy).
* An overlap after the move would need a boundary pair with p_f = 1, which is never left
  unlinked and unfrustrated: such moves are always rejected (the hard core as infinite energy).
* The cutoff rule depends on |C| only and n_c has the same law both ways, so it is symmetric;
  drawing n_c per move (instead of a fixed maximum) makes P(move of a cluster of n) fall as
  1/n, as published, without any bias.
* Rotations: the rule "every member within L_min/4 of the pivot" depends on distances to the
  fixed pivot only, which the rotation keeps, so it is symmetric.  It makes each member's offset
  from the pivot its minimum image, every internal separation shorter than L/2 (a true vector
  that the rotation turns rigidly) and every periodic image farther than the interaction range,
  so the rigid-motion argument above holds in the periodic box.  Translations are exact rigid
  motions of the torus and need no such rule.
Summing over seeds in C and realisations, pi(mu) P(mu -> mu') = pi(mu') P(mu' -> mu).  A VMMC
updater between sweeps composes invariant kernels, which is invariant.  Energies are counted in
integer units by the halves of `pair_state` with the lower index first (as the recount does;
the overlap half only where it decides a link, see `test_pair`), so the running
bond count stays exact; a rigid move changes internal separations only by rounding (~1e-16),
which is far below any statistical resolution and never seen in the tests' recounts.

Random numbers and restarts
---------------------------
Move m of the updater acting at sweep s draws from stream_key(seed, s, PURPOSE_VMMC | m)
(cubemc/vmmc_kernels.py); the cell list is rebuilt in particle order at every action, so a
restart at any pause point reproduces the uninterrupted run bit for bit.  Settings and counters
go into every checkpoint of the simulation (`checkpoint_data`), which `Simulation.from_checkpoint`
re-attaches; GSD frames log `log_values()` as log/cubemc/vmmc_*.

On a GPU
--------
The moves are one source, cubemc/vmmc_moves.py, compiled for the CPU (cubemc/vmmc_kernels.py) and
for CUDA (cubemc/gpu_vmmc.py); `Systems.vmmc_moves` runs them where the configuration lives, so a
GPU simulation keeps it on the device between sweeps and cluster moves.  A system's moves run in
their fixed order (moves depend on each other), by one thread or by a block whose lanes share
each member's scan (`gpu_lanes`); either way the chain is the CPU's, move for move, and the
argument above holds unchanged.  A batch of systems runs one thread or block each.  Moves on
disjoint clusters at once (proved independent as the checkerboard does for cells) would be a
further layout, to be chosen by measurement on a GPU.
"""

from __future__ import annotations

import numpy as np

from . import targets, validate
from .errors import InputError
from .operations import Operation, tune_factor
from .vmmc_moves import GPU_LANES

#: VMMC counters (see cubemc/vmmc_kernels.py N_COUNTS)
COUNT_NAMES = (
    "translate_trials",
    "translate_accepted",
    "rotate_trials",
    "rotate_accepted",
    "rejected_cutoff",
    "rejected_too_wide",
    "rejected_frustrated",
    "accepted_cluster_sizes",
    "largest_cluster",
)
#: per-frame log quantities of `log_values` (GSD: log/cubemc/<name>)
LOG_KEYS = (
    "vmmc_translate_acceptance",
    "vmmc_rotate_acceptance",
    "vmmc_mean_cluster_size",
    "vmmc_largest_cluster",
    "vmmc_moves",
)
#: checkpoint keys written next to the simulation's own (contract.CHECKPOINT_OPTIONAL_KEYS)
CHECKPOINT_KEYS = ("vmmc_settings", "vmmc_counts")


class VMMC(Operation):
    """Virtual-move Monte Carlo cluster moves every `period` sweeps (an updater).

    Each action makes max(1, round(moves_per_particle * N)) moves; a move translates (with
    probability `translate_fraction`) or rotates a recruited cluster.  Attach it with
    ``sim.operations.updaters.append(vmmc)``; counters and acceptance are properties.
    `gpu_lanes` (None: cubemc/gpu_vmmc.py DEFAULT_LANES) sets the threads per system of a GPU
    simulation's moves; it changes no move, so checkpoints do not keep it.
    """

    def __init__(
        self,
        period=1,
        moves_per_particle=0.1,
        translate_size=0.3,
        rotate_size=0.3,
        translate_fraction=0.5,
        pivot_radius=1.0,
        max_cluster=None,
        random_cutoff=True,
        phase=0,
        gpu_lanes=None,
    ):  # noqa: PLR0913 (the move's parameters, by name)
        super().__init__(period, phase)
        self.moves_per_particle = validate.positive("moves_per_particle", moves_per_particle)
        self.translate_size = validate.positive("translate_size", translate_size)
        self.rotate_size = validate.positive("rotate_size", rotate_size)
        self.translate_fraction = validate.finite("translate_fraction", translate_fraction)
        if not 0.0 <= self.translate_fraction <= 1.0:
            raise InputError(f"translate_fraction must lie in [0, 1], got {translate_fraction!r}")
        self.pivot_radius = validate.finite("pivot_radius", pivot_radius)
        if self.pivot_radius < 0.0:
            raise InputError(f"pivot_radius must not be negative, got {pivot_radius!r}")
        self.max_cluster = None if max_cluster is None else validate.positive_int("max_cluster", max_cluster)
        if not isinstance(random_cutoff, (bool, np.bool_)):
            raise InputError(f"random_cutoff must be True or False, got {random_cutoff!r}")
        self.random_cutoff = bool(random_cutoff)
        self.gpu_lanes = None if gpu_lanes is None else validate.int_choice("gpu_lanes", gpu_lanes, GPU_LANES)
        self._counts = np.zeros(len(COUNT_NAMES), np.int64)
        #: set True to keep the bond count after every move (see `trace`)
        self.record = False
        self._trace = []

    # ------------------------------------------------------------------ acting
    def act(self, sim) -> None:
        trace = self._moves(sim, record=self.record)
        if self.record:
            self._trace.append(trace)

    @property
    def trace(self) -> np.ndarray:
        """Bond count after every move of the actions made while `record` was True."""
        return np.concatenate([np.zeros(0, np.int64), *self._trace])

    def run_alone(self, sim, steps) -> np.ndarray:
        """VMMC only, no sweeps: `steps` actions, each counted as one sweep of `sim` (so the
        random streams and checkpoints work as in a mixed run); returns the bond count after
        every move."""
        steps = validate.nonnegative_int("steps", steps)
        traces = [np.zeros(0, np.int64)]
        for _ in range(steps):
            sim.sweep += 1
            traces.append(self._moves(sim, record=True))
        return np.concatenate(traces)

    def _moves(self, sim, record):
        if sim.systems.size != 1:
            raise InputError(
                "VMMC acts on a simulation of its own, not on a SimulationBatch member; run it with "
                "sim.run(), or attach it to every member and run the batch"
            )
        return act_together([self], [sim], sim.systems, record)[0]

    def moves_per_action(self, n_particles) -> int:
        return max(1, round(self.moves_per_particle * n_particles))

    def settings(self, sim) -> list:
        """The compiled moves' settings row for `sim` (cubemc/vmmc_moves.py `run_moves`)."""
        return [
            self.translate_size,
            self.rotate_size,
            self.translate_fraction,
            self.max_cluster or sim.N,
            float(self.random_cutoff),
            sim.beta_epsilon,
            self.pivot_radius,
            0.5 * sim.min_box_edge,  # the interaction range (geometry.min_box_edge)
        ]

    # ------------------------------------------------------------------ statistics
    @property
    def counts(self) -> dict:
        return {name: int(v) for name, v in zip(COUNT_NAMES, self._counts, strict=True)}

    @property
    def acceptance(self) -> dict:
        c = self._counts
        return {
            "translate": c[1] / c[0] if c[0] else float("nan"),
            "rotate": c[3] / c[2] if c[2] else float("nan"),
        }

    @property
    def mean_cluster_size(self) -> float:
        """Mean size of the clusters of accepted moves."""
        accepted = self._counts[1] + self._counts[3]
        return self._counts[7] / accepted if accepted else float("nan")

    def reset_counts(self) -> None:
        self._counts[:] = 0

    reset_acceptance = reset_counts  # Simulation.tune resets the counters with the simulation's

    def tuner(self, target: float, period: int, phase: int) -> VMMCTuner:
        """The tuner `Simulation.tune` runs alongside its own (as for box moves)."""
        return VMMCTuner(self, target, period, phase)

    def log_values(self) -> dict:
        """The LOG_KEYS quantities, which `Simulation.write_frame` logs as log/cubemc/vmmc_*."""
        acc = self.acceptance
        return {
            "vmmc_translate_acceptance": acc["translate"],
            "vmmc_rotate_acceptance": acc["rotate"],
            "vmmc_mean_cluster_size": self.mean_cluster_size,
            "vmmc_largest_cluster": float(self._counts[8]),
            "vmmc_moves": float(self._counts[0] + self._counts[2]),
        }

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_data(self) -> dict:
        """Settings and counters, saved by `Simulation.save_checkpoint` (CHECKPOINT_KEYS) and
        re-attached by `Simulation.from_checkpoint`."""
        settings = [
            self.period,
            self.phase,
            self.moves_per_particle,
            self.translate_size,
            self.rotate_size,
            self.translate_fraction,
            self.pivot_radius,
            self.max_cluster or 0,
            float(self.random_cutoff),
        ]
        return {"vmmc_settings": np.array(settings, np.float64), "vmmc_counts": self._counts.copy()}

    @classmethod
    def from_checkpoint_data(cls, data) -> VMMC:
        """The updater whose `checkpoint_data` a checkpoint holds, counters included."""
        s, counts = np.asarray(data["vmmc_settings"]), np.asarray(data["vmmc_counts"])
        if s.shape != (9,) or counts.shape != (len(COUNT_NAMES),):
            raise InputError("checkpoint: the VMMC entries have the wrong shape (not a cubemc checkpoint?)")
        vmmc = cls(
            period=int(s[0]),
            phase=int(s[1]),
            moves_per_particle=float(s[2]),
            translate_size=float(s[3]),
            rotate_size=float(s[4]),
            translate_fraction=float(s[5]),
            pivot_radius=float(s[6]),
            max_cluster=int(s[7]) or None,
            random_cutoff=bool(s[8]),
        )
        vmmc._counts[:] = counts
        return vmmc


class VMMCTuner(Operation):
    """Scales a VMMC updater's move sizes toward `target` acceptance every `period` sweeps, as
    operations.MoveSizeTuner does for single moves; only while `Simulation.tune` runs.  Cluster
    translations stay below one interaction range, rotations below 1 radian."""

    at_end = True

    def __init__(self, vmmc: VMMC, target: float, period: int, phase: int):
        super().__init__(period, phase)
        self.vmmc = vmmc
        self.target = validate.fraction("target_acceptance", target)
        self._before = None

    def attach(self, sim):
        self._before = self.vmmc._counts.copy()

    def act(self, sim):
        v = self.vmmc
        c = v._counts - self._before
        if c[0]:
            factor = tune_factor(c[1] / c[0], self.target)
            v.translate_size = min(0.5 * sim.min_box_edge, v.translate_size * factor)
        if c[2]:
            v.rotate_size = min(1.0, v.rotate_size * tune_factor(c[3] / c[2], self.target))
        self._before = v._counts.copy()


# ---------------------------------------------------------------------- one action, many systems
def common_moves(updaters, sims) -> int:
    """The moves per action of updaters[b] on sims[b], the same for all (one call makes one
    count); InputError otherwise."""
    n_moves = {u.moves_per_action(s.N) for u, s in zip(updaters, sims, strict=True)}
    if len(n_moves) != 1:
        raise InputError("the VMMC updaters of a batch must make as many moves each (moves_per_particle)")
    return n_moves.pop()


def act_together(updaters, sims, systems, record=False):
    """One action of updaters[b] on sims[b], which is system b of `systems`, for every b in one
    call (one launch on a GPU); returns the bond counts after every move, (B, moves) or (B, 0)
    unless `record`.  Each system draws its own streams, so this equals acting one by one."""
    n_moves = common_moves(updaters, sims)
    counts = np.stack([u._counts for u in updaters])
    before = np.array([s.bonds for s in sims], np.int64)
    # on a GPU the configurations stay there (cubemc/gpu_vmmc.py), on the CPU they are moved in
    # place (cubemc/vmmc_kernels.py): the same moves
    delta, ok, trace = systems.vmmc_moves(
        n_moves,
        np.array([s.seed for s in sims], np.uint64),
        np.array([s.sweep for s in sims], np.int64),
        np.array([u.settings(s) for u, s in zip(updaters, sims)], np.float64),
        np.array([s.kernel_parameters()[1] for s in sims], np.float64),
        counts,
        record,
        updaters[0].gpu_lanes,
    )
    if not ok.all():
        raise RuntimeError(
            "VMMC cell list overflow: the configuration must contain overlaps "
            "(this indicates a bug; please report it with the input file)"
        )
    trace = trace + before[:, None]
    for b, (u, s) in enumerate(zip(updaters, sims)):
        u._counts[:] = counts[b]
        s.bonds = int(before[b] + delta[b])
    return trace


# ---------------------------------------------------------------------- compiled moves
def kernels(shape, pair):
    """cubemc/vmmc_kernels.py (the CPU driver) specialised for this shape and pair energy."""
    return targets.specialise("vmmc_kernels", shape, pair)
