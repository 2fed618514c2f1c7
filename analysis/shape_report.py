"""The report's nanocrystal-shape section (issue 12): vacancy localisation against the rounding
radius and size polydispersity, and the crystal that grows from the hard fluid against the
rounding radius, each with block-averaged errors combined over replicas.

Runs of different shapes are never averaged together: every family is keyed by its shape
(:func:`shape_label`, '' for unit cubes) as well as (phi, lambda, N).
"""

from __future__ import annotations

import math

from .crystal_type import CLASSES
from .evidence import get, statepoint_value, vacancy_points
from .stats import Estimate, combine_replicas
from .vacancy_criteria import spread, strong_limit
from .verdicts import pm

__all__ = ["shape_label", "rounding_radius", "crystal_rows", "vacancy_shape_rows", "shape_section"]

#: the βε of the issue's vacancy comparison
SHAPE_BETAS = (0.0, -0.5, -1.0)
#: the on-one-site cell of a size-polydisperse family, and why (one line under the table)
NOT_ON_ONE_SITE = "— (polydisperse)"
POLYDISPERSE_NOTE = (
    "On one site is not shown for size-polydisperse families: the sizes displace cubes statically "
    "beyond the 0.25 a threshold, so even their βε = −3 reference (almost) never has the vacancy on "
    "one site (0.00–0.03 of the frames in docs/validation.md)."
)


def shape_label(job) -> str:
    """'' for unit cubes, else e.g. 'rounded_cuboid r=0.1' or 'cuboid poly=0.12'."""
    shape = statepoint_value(job, "shape")
    if shape in (None, "cube"):
        return ""
    parts = [str(shape)]
    ratios = statepoint_value(job, "edge_ratios")
    if ratios:
        parts.append("1:" + ":".join(f"{float(x):g}" for x in ratios))
    for key, name in (("rounding_radius", "r"), ("size_polydispersity", "poly")):
        value = statepoint_value(job, key)
        if value is not None:
            parts.append(f"{name}={float(value):g}")
    return " ".join(parts)


def rounding_radius(job) -> float:
    return float(statepoint_value(job, "rounding_radius") or 0.0)


def _is_hard_fluid_run(job) -> bool:
    return (
        str(statepoint_value(job, "initial_state") or "").startswith("fluid")
        and statepoint_value(job, "beta_epsilon") == 0.0
        and bool(get(job.get("summary"), "crystal_type.fractions"))
        and not statepoint_value(job, "edge_ratios")
        and not statepoint_value(job, "size_polydispersity")
    )


#: a run (or a set of runs) with at least this crystalline fraction (SC + FCC + HCP) froze
FROZEN = 0.3


def _combined(jobs, name) -> Estimate:
    runs = [Estimate.from_dict(get(j.get("summary"), f"crystal_type.fractions.{name}")) for j in jobs]
    return combine_replicas([r for r in runs if r is not None])


def _close_packed_run(job) -> Estimate | None:
    """FCC + HCP of one run as 1 - fluid - SC: stacking faults move particles between FCC and
    HCP, so their errors are anticorrelated and adding them in quadrature overstates the sum's;
    the fluid and SC errors do not carry that exchange."""
    f = {name: _combined([job], name) for name in ("fcc", "hcp", "fluid", "sc")}
    if not all(e.known for e in f.values()):
        return None
    fluid, sc = f["fluid"], f["sc"]
    return Estimate(
        f["fcc"].mean + f["hcp"].mean,
        math.hypot(fluid.sem, sc.sem),
        fluid.frames,
        min(fluid.effective, sc.effective),
        1,
        fluid.converged and sc.converged,
    )


def close_packed(jobs) -> Estimate:
    """FCC + HCP fraction of `jobs` combined as replicas (_close_packed_run per run)."""
    return combine_replicas([e for e in map(_close_packed_run, jobs) if e is not None])


def _crystal_type(fractions) -> str:
    """The largest crystal class of mean fractions, 'fluid' below FROZEN crystalline in all."""
    crystal = {k: v.mean for k, v in fractions.items() if k != "fluid" and math.isfinite(v.mean)}
    return "fluid" if not crystal or sum(crystal.values()) < FROZEN else max(crystal, key=crystal.get)


def froze(job) -> bool:
    """True when this run's own production-mean crystalline fraction reaches FROZEN: judged per
    run, so that one replica still fluid does not dilute one that froze."""
    return _crystal_type({name: _combined([job], name) for name in CLASSES}) != "fluid"


def shaped_fluid_runs(jobs) -> dict:
    """{shape label: jobs} of the runs of other particles than unit cubes quenched from a fluid
    to attraction (nucleation runs; the hard ones are crystal_rows'), labels in order."""
    groups = {}
    for j in jobs:
        if shape_label(j) and statepoint_value(j, "beta_epsilon"):
            groups.setdefault(shape_label(j), []).append(j)
    return dict(sorted(groups.items()))


def crystal_rows(jobs):
    """Per (rounding radius, phi, N) of hard-particle fluid runs: the class fractions combined
    over all replicas and their crystal type, and the same over the replicas that froze (`froze`;
    `frozen_fractions` None and `frozen_type` 'fluid' when none did); `close_packed` and
    `frozen_close_packed`: FCC + HCP with its own error (close_packed)."""
    groups = {}
    for j in filter(_is_hard_fluid_run, jobs):
        key = (rounding_radius(j), statepoint_value(j, "packing_fraction"), get(j.get("summary"), "N"))
        groups.setdefault(key, []).append(j)
    rows = []
    for (r, phi, n), js in sorted(groups.items(), key=lambda kv: tuple(x or 0 for x in kv[0])):
        fractions = {name: _combined(js, name) for name in CLASSES}
        frozen = [j for j in js if froze(j)]
        frozen_fractions = {name: _combined(frozen, name) for name in CLASSES} if frozen else None
        rows.append(
            {
                "r": r,
                "phi": phi,
                "N": n,
                "runs": len(js),
                "fractions": fractions,
                "type": _crystal_type(fractions),
                "frozen": len(frozen),
                "frozen_fractions": frozen_fractions,
                "close_packed": close_packed(js),
                "frozen_close_packed": close_packed(frozen) if frozen else None,
                "frozen_type": _crystal_type(frozen_fractions) if frozen else "fluid",
            }
        )
    return rows


def _polydisperse(groups) -> bool:
    """True when a family's runs have a size polydispersity (> 0)."""
    return any(
        float(statepoint_value(j, "size_polydispersity") or 0.0) > 0.0
        for jobs in groups.values()
        for j in jobs
    )


def vacancy_shape_rows(families):
    """Per crystal family (label -> {βε: [jobs]}) and βε of SHAPE_BETAS: spread above the family's
    own strong-attraction limit and the on-one-site fraction, with errors; `polydisperse` marks
    families with a size polydispersity, whose on-one-site fraction the section does not show."""
    rows = []
    for label, groups in families.items():
        points = vacancy_points(groups)
        polydisperse = _polydisperse(groups)
        limit = strong_limit(points)
        for beta in SHAPE_BETAS:
            point = next((p for b, p in points.items() if abs(b - beta) < 1e-6), None)
            if point is None:
                continue
            d, s = spread(point, limit)[:2] if limit else (float("nan"), float("nan"))
            loc = point["localised"]
            rows.append(
                {
                    "family": label,
                    "beta_epsilon": beta,
                    "runs": point.replicas,
                    "spread": (d, s),
                    "localised": (loc.mean, loc.sem),
                    "polydisperse": polydisperse,
                }
            )
    return rows


def shape_section(vacancy_rows, crystal):
    """Markdown lines of the section (empty when no run has a shape or a crystal type)."""
    lines = []
    shaped = [r for r in vacancy_rows if "r=" in r["family"] or "poly=" in r["family"]]
    if shaped:
        lines += [
            "## Nanocrystal shapes: vacancy localisation",
            "",
            "Spread above each family's own strong-attraction limit (a) and fraction of frames with the "
            "vacancy on one site, means ± standard errors; families differ in shape, φ and N and are never "
            "pooled (r: rounding radius at outer edge 1; poly: relative width of the cube sizes).",
            "",
            "| family | βε | runs | spread (a) | on one site |",
            "|---|---|---|---|---|",
        ]
        for r in vacancy_rows:
            one_site = NOT_ON_ONE_SITE if r.get("polydisperse") else pm(*r["localised"])
            cells = f"{r['runs']} | {pm(*r['spread'])} | {one_site}"
            lines.append(f"| {r['family']} | {r['beta_epsilon']:g} | {cells} |")
        if any(r.get("polydisperse") for r in vacancy_rows):
            lines += ["", POLYDISPERSE_NOTE]
        lines += ["", "![Vacancy spread against the shape](vacancy_shapes.png)", ""]
    if crystal:
        lines += [
            "## Nanocrystal shapes: which crystal grows",
            "",
            "Hard particles from a compressed fluid, rounding radius r at outer edge 1 (r = 0 the cube, "
            "0.5 the sphere). Fractions of particles in SC, FCC and HCP environments (averaged "
            "Steinhardt q4 over 6 and q4, q6 over 12 neighbours, analysis/crystal_type.py), production "
            "frames, ± standard errors. Seed 003: SC supercrystals of cubic NCs; seed 002: face-centred "
            "orthorhombic (a : b : c = 1 : 1.1 : 1.2, a distorted FCC) of quasi-spherical NCs.",
            "",
            "| r | φ | N | runs | SC | FCC | HCP | fluid | crystal | runs that froze |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in crystal:
            f = row["fractions"]
            cells = " | ".join(pm(f[k].mean, f[k].sem) for k in CLASSES)
            frozen = f"{row['frozen']} of {row['runs']}" + (
                f" ({row['frozen_type']})" if row["frozen"] else ""
            )
            lines.append(
                f"| {row['r']:g} | {row['phi']} | {row['N']} | {row['runs']} | {cells} "
                f"| **{row['type']}** | {frozen} |"
            )
        lines += [
            "",
            f"Fractions and crystal: all runs pooled. A run froze when its own crystalline fraction "
            f"(SC + FCC + HCP) reached {FROZEN:g}; the last column gives the crystal of those runs "
            "pooled, and C1, C2 compare classes in them only (a run that stayed fluid says nothing "
            "about which crystal grows).",
            "",
            "![Crystal type against the rounding radius](crystal_shapes.png)",
            "",
        ]
    return lines


def radius_of_label(label) -> float:
    """Rounding radius in a family label ('…r=0.1…'), 0 without one."""
    for part in label.replace(",", " ").split():
        if part.startswith("r="):
            return float(part[2:])
    return 0.0
