"""The report's parts on crystals with a vacancy (seed 000, Fig. 5: claims V1-V3): what was
simulated, the per-βε table, the orthoslices, the figures behind the verdicts and the definitions
of the measures.  `report.py` assembles them with the other studies' sections; `ctx` is its
context (`report._context`)."""

from __future__ import annotations

import math
import os

from .claims import SHARED_SITES_MANY
from .evidence import get, statepoint_value
from .nucleation_report import quench_summary
from .report_figures import claim_distribution_figure, delocalisation_figure
from .vacancy_criteria import ON_SITE_BOUND, shared_sites_line_shift, spread, strong_limit
from .verdicts import fmt, pm

__all__ = [
    "VACANCY_DEFINITIONS",
    "VACANCY_INTRO",
    "orthoslice_lines",
    "vacancy_figures",
    "vacancy_table",
    "what_was_simulated",
]

VACANCY_INTRO = [
    "The paper (seed 000, Fig. 5) finds the vacancy delocalised along a row for hard cubes "
    "(βε = 0), spread over at most a couple of sites at βε = −0.5, and on its lattice site "
    "at βε = −1. We measure how far the cubes around the vacancy lean into it beyond "
    "thermal rattling, relative to the strong-attraction limit (*spread*, in lattice "
    "constants a; a vacancy shared by 2 or 3 sites has 0.5 a, and 0.25 a is halfway "
    "between a vacancy on its site and one shared by two).",
    "",
]


def vacancy_figures(ctx, outdir):
    """The delocalisation figure and one distribution figure per claim whose βε was run."""
    made = {}
    points = ctx["vacancy_points"]
    limit = strong_limit(points)
    if ctx["crystal"]:
        made[delocalisation_figure(ctx["family_points"], outdir, sites=SHARED_SITES_MANY)] = (
            "Vacancy spread above the strong-attraction limit against βε (left, threshold-free) and the "
            "thresholded row length (right), ±2 standard errors"
        )
        bound = shared_sites_line_shift(SHARED_SITES_MANY)
        lim = [limit.beta_epsilon] if limit else []
        for cid, betas, b, label in (
            ("V1", [0.0], bound, "limit + 3-site spread"),
            ("V2", [-0.5, 0.0], bound, "limit + 3-site spread"),
            ("V3", [-1.0], ON_SITE_BOUND, "limit + halfway to 2 sites"),
        ):
            if any(abs(betas[0] - y) < 1e-6 for y in points):  # the claim's own βε was run
                made[claim_distribution_figure(points, betas + lim, outdir, f"claim_{cid}.png", b, label)] = (
                    f"{cid}: distributions behind the verdict"
                )
    return made


def what_was_simulated(ctx):
    groups = ctx["groups"]
    if not groups:
        quenches = quench_summary(ctx["fluid_jobs"])
        return f"{len(ctx['jobs'])} jobs, none of them a crystal with a vacancy{quenches}."
    phi, lam, n, _ = ctx["primary"]
    first = next(iter(groups.values()))[0]
    cells = get(first.get("summary"), "vacancy.n_cells") or ["?"]
    runs = sorted({len(js) for js in groups.values()})
    betas = ", ".join(f"{b:g}" for b in groups if math.isfinite(b))
    return (
        f"Crystals of {n} cubes ({cells[0]}³ simple-cubic sites minus one: a single vacancy) at "
        f"φ = {phi}, well range λ = {lam}, βε = {betas}; {'/'.join(map(str, runs))} run(s) per βε, "
        f"{_run_lengths(groups)} after burn-in."
    )


def _run_lengths(groups):
    """'F frames over S sweeps per run', with the βε of each length where they differ."""
    lengths = {}
    for beta, jobs in groups.items():
        steps = (jobs[0].get("series") or {}).get("step") or [0]
        key = (get(jobs[0].get("summary"), "n_frames"), steps[-1] - steps[0])
        lengths.setdefault(key, []).append(f"{beta:g}")
    parts = [f"{f} frames over {s} sweeps per run" for f, s in lengths]
    if len(parts) == 1:
        return parts[0]
    return "; ".join(f"{p} at βε = {', '.join(b)}" for p, b in zip(parts, lengths.values(), strict=True))


def vacancy_table(ctx):
    lines = [
        "## Crystal with a vacancy, per βε",
        "",
        "Means ± standard errors (block averaging within runs, combined over replicas); *eff.* = "
        "effective independent samples of the excess line shift.",
        "",
        "| family | βε | runs | frames | eff. | spread (a) | excess line shift (a) | bulk line shift (a) "
        "| row length (sites) | on one site | long row | hops / sweep |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, points in ctx["family_points"].items():
        limit = strong_limit(points)
        for b, p in points.items():
            ex = p["excess_line_shift"]
            d, s = spread(p, limit)[:2] if limit else (float("nan"), float("nan"))
            cells = [
                pm(d, s),
                pm(ex.mean, ex.sem),
                pm(p["bulk_line_shift"].mean, p["bulk_line_shift"].sem),
                pm(p["row_length"].mean, p["row_length"].sem),
                pm(p["localised"].mean, p["localised"].sem),
                pm(p["long_row"].mean, p["long_row"].sem),
                fmt(p.hops_per_sweep, 5),
            ]
            lines.append(
                f"| {label} | {b:g} | {p.replicas} | {ex.frames} | {ex.effective:.0f} | "
                + " | ".join(cells)
                + " |"
            )
    return lines + [""]


def orthoslice_lines(crystal, outdir):
    """Links to each crystal run's last-frame orthoslice, relative to `outdir`."""
    slices = [(j, get(j.get("summary"), "orthoslice_png")) for j in crystal]
    slices = [(j, os.path.relpath(p, outdir) if os.path.isabs(p) else p) for j, p in slices if p]
    if not slices:
        return []
    return (
        ["### Orthoslices (last frame)", ""]
        + [
            f"- βε = {statepoint_value(j, 'beta_epsilon')}, "
            f"replica {statepoint_value(j, 'replica')}: ![]({p})"
            for j, p in slices
        ]
        + [""]
    )


VACANCY_DEFINITIONS = [
    "## Definitions",
    "",
    "- *line shift*: total displacement (units of a) toward the empty site of the cubes on the best "
    "lattice line through it, up to 4 sites each way; threshold-free. A vacancy shared evenly by m "
    "sites (m odd) has (m − 1)/4; one shared by two sites (a neighbour halfway into the hole) 0.5.",
    "- *bulk line shift*: the same measure around four occupied sites half a box away from the vacancy: "
    "what thermal rattling alone gives.",
    "- *excess line shift*: line shift minus bulk line shift, per frame.",
    "- *spread*: excess line shift at βε minus its value at the study's strongest attraction (βε ≤ −2), "
    "the model's own limit of a localised vacancy.",
    "- *row length*: sites spanned by the empty site plus the cubes displaced beyond 0.25 a toward it along "
    "one axis (1 = on its site); *on one site*: fraction of frames with row length 1; *long row*: ≥ 4 sites.",
    "- *verdicts*: agree / disagree when the test is decided at 2 standard errors; *insufficient data* when "
    "it is not, or a run holds fewer than 20 effective samples; *too small to tell* when the box cannot hold "
    "the effect; *not measured* when these runs cannot test the claim.",
    "",
]
