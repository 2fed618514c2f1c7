"""Equation of state: the pressure and packing fraction of each run, and the low-density limit.

Every frame of a cubemc trajectory logs beta P sigma^3 estimated from that configuration alone
(``log/cubemc/pressure``, the engine's scale-distribution-function estimator); the packing
fraction of a frame is N sigma^3 / V from its box (unit cubes).  In NVT the packing fraction is
fixed and the pressure fluctuates; at constant pressure (box moves) it is the other way round.
Both means carry block-averaged errors (analysis.stats), combined over replicas.

Second virial coefficient of square-well cubes (docs/model.md): two cubes at a random relative
position and orientation overlap inside an excluded volume of 11 sigma^3 (Isihara-Hadwiger), so
B2 = [11 - (exp(-beta eps) - 1) x] / 2, where x is the volume of offsets inside the well at which
two randomly oriented cubes do not overlap, estimated by plain uniform sampling (no Markov chain).
At low density beta P = rho + B2 rho^2 + O(rho^3), rho = phi for unit cubes.
"""

from __future__ import annotations

import math

import numpy as np

from .analyzers import Analyzer
from .evidence import get
from .stats import block_average, combine_replicas

__all__ = [
    "HARD_CUBE_B2",
    "EquationOfStateAnalyzer",
    "in_well_free_volume",
    "second_virial_coefficient",
    "changed_phase",
    "eos_points",
]

#: B2 of hard unit cubes in sigma^3: half the orientation-averaged excluded volume 11
HARD_CUBE_B2 = 5.5
#: classes of a run's last frame (analysis.nucleation.classify_state) that a fluid turns into
CHANGED_PHASE = ("crystal", "aggregate")


class EquationOfStateAnalyzer(Analyzer):
    """Per-frame beta P sigma^3 (from the engine's log) and packing fraction N / V.

    Summary section ``eos``: block-averaged estimates of both (analysis.stats.Estimate as a
    dict); the pressure's has no frames where the trajectory logged none.
    """

    section = "eos"

    def compute(self, frame):
        value = frame.log.get("pressure")
        pressure = float(value) if value is not None and math.isfinite(value) else None
        self._append(pressure=pressure, packing_fraction=frame.N / float(np.prod(frame.box)))
        return self

    @property
    def summary(self):
        if not self.n_frames:
            return {}
        pressures = [v for v in self.production("pressure") if v is not None]
        return {
            "pressure": block_average(pressures).as_dict(),
            "packing_fraction": self.estimate("packing_fraction"),
        }


def in_well_free_volume(well_range, n=1_000_000, seed=2):
    """x: volume of offsets inside the well (centre distance < well_range) at which two randomly
    oriented cubes do not overlap, from `n` uniform samples in the ball; returns (x, its
    standard error from 20 independent groups)."""
    from cubemc.geometry import overlaps, random_quaternions

    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, 3))
    d = u / np.linalg.norm(u, axis=1, keepdims=True) * well_range * rng.uniform(size=(n, 1)) ** (1 / 3)
    free = ~overlaps(d, random_quaternions(rng, n), random_quaternions(rng, n))
    x = free.reshape(20, -1).mean(1) * 4 / 3 * math.pi * well_range**3
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(20))


def second_virial_coefficient(beta_epsilon, well_range, x=None):
    """B2 / sigma^3 of square-well cubes (HARD_CUBE_B2 for beta_epsilon = 0); `x` from
    :func:`in_well_free_volume` (computed when not given)."""
    if beta_epsilon == 0.0:
        return HARD_CUBE_B2
    if x is None:
        x = in_well_free_volume(well_range)[0]
    return (11.0 - math.expm1(-beta_epsilon) * x) / 2.0


def _estimate(job, key):
    from .stats import Estimate

    return Estimate.from_dict(((job.get("summary") or {}).get("eos") or {}).get(key))


def eos_points(jobs):
    """EOS points, one per state point (replicas combined): dicts with beta_epsilon, well_range,
    branch ("fluid" or "crystal" start), ensemble ("NVT" or "NPT"), and Estimates
    ``packing_fraction`` and ``pressure`` (the fixed one with error 0).  Jobs without a measured
    pressure (NVT) or packing fraction (NPT) are left out, and so are runs from a fluid that
    crystallised or aggregated (:func:`changed_phase`)."""
    groups = {}
    for job in jobs:
        sp = job.get("statepoint") or {}
        if "beta_epsilon" not in sp or "initial_state" not in sp or changed_phase(job):
            continue
        npt = "pressure" in sp
        key = (
            float(sp["beta_epsilon"]),
            float(sp.get("well_range", float("nan"))),
            "crystal" if sp["initial_state"] == "crystal_vacancy" else "fluid",
            "NPT" if npt else "NVT",
            float(sp["pressure"] if npt else sp.get("packing_fraction", float("nan"))),
            sp.get("N"),
        )
        groups.setdefault(key, []).append(job)
    points = []
    order = sorted(groups, key=lambda k: (-k[0], k[1], k[2], k[3], str(k[5]), k[4]))
    for beta_epsilon, well_range, branch, ensemble, fixed, n in order:
        members = groups[(beta_epsilon, well_range, branch, ensemble, fixed, n)]
        measured = "packing_fraction" if ensemble == "NPT" else "pressure"
        estimate = combine_replicas([_estimate(j, measured) for j in members])
        if not estimate.known:
            continue
        exact = type(estimate)(fixed, 0.0, estimate.frames, estimate.effective, estimate.replicas)
        point = {
            "beta_epsilon": beta_epsilon,
            "well_range": well_range,
            "branch": branch,
            "ensemble": ensemble,
            "N": n,
            measured: estimate,
            "pressure" if ensemble == "NPT" else "packing_fraction": exact,
        }
        if ensemble == "NPT":  # the measured pressure: a check of the box moves and the estimator
            point["measured_pressure"] = combine_replicas([_estimate(j, "pressure") for j in members])
        points.append(point)
    return points


def changed_phase(job) -> bool:
    """A run from a fluid whose last frame is a crystal or an aggregate (a quench that nucleated):
    its mean pressure or density mixes two phases and the time it took, so it is no point of
    the equation of state."""
    from_fluid = (job.get("statepoint") or {}).get("initial_state") == "fluid"
    return from_fluid and (get(job.get("summary"), "clusters.state_final.class") in CHANGED_PHASE)


def virial_coefficients(points, samples=1_000_000):
    """{(beta_epsilon, well_range): B2} for the models among `points`; x is sampled once per
    well range (about 2 s for a million pairs)."""
    xs, out = {}, {}
    for p in points:
        key = (p["beta_epsilon"], p["well_range"])
        if key in out:
            continue
        if key[0] != 0.0 and key[1] not in xs:
            xs[key[1]] = in_well_free_volume(key[1], samples)[0]
        out[key] = second_virial_coefficient(key[0], key[1], xs.get(key[1]))
    return out


def _pm(e, digits=3):
    if e is None or not e.known:
        return "—"
    return f"{e.mean:.{digits}f}" if e.sem == 0.0 else f"{e.mean:.{digits}f} ± {e.sem:.{digits}f}"


def eos_table(points, b2) -> list[str]:
    """Markdown lines: one row per state point, the fixed quantity without an error."""
    lines = [
        "| βε | λ | start | ensemble | N | φ | βPσ³ | βP/ρ | 1 + B2 ρ | βPσ³ measured (NPT) "
        "| runs | frames |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        phi, pressure = p["packing_fraction"], p["pressure"]
        z = pressure.mean / phi.mean if phi.mean > 0 else float("nan")
        z_err = z * math.hypot(pressure.sem / pressure.mean, phi.sem / phi.mean) if pressure.mean else 0.0
        virial = 1.0 + b2[(p["beta_epsilon"], p["well_range"])] * phi.mean
        runs = max(phi.replicas, pressure.replicas)
        lines.append(
            f"| {p['beta_epsilon']:g} | {p['well_range']:g} | {p['branch']} | {p['ensemble']} | {p['N']} "
            f"| {_pm(phi)} | {_pm(pressure)} | {z:.3f} ± {z_err:.3f} | {virial:.3f} "
            f"| {_pm(p.get('measured_pressure'))} | {runs} | {max(phi.frames, pressure.frames)} |"
        )
    return lines
