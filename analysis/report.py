"""Cross-job report: a one-minute summary, the seed claims with verdicts and their evidence,
tables and one figure per claim.

    write_report(job_summaries, outdir)
    python -m cubemc.analysis.report OUTDIR job1.json job2.json ...
        (each job file: {"statepoint": ..., "summary": ..., "series": ...})
    python -m cubemc.analysis.report OUTDIR summaries.zip
        (what `python project.py export` writes: a project's report, drawn without the project)

Errors come from block averaging within each run, combined over replicas (the larger of the
pooled within-run error and the scatter between replicas), so a single run has an error bar.
Every verdict states its test and the sample it rests on (docs/analysis.md).
"""

from __future__ import annotations

import json
import math
import os
import sys

from .claims import CLAIMS, ED_FWHM_DEG
from .criteria import judge
from .eos import changed_phase, eos_points, eos_table, virial_coefficients
from .evidence import get, statepoint_value, vacancy_points
from .jsonio import to_jsonable, write_text
from .nucleation_report import fluid_figures, fluid_section
from .report_figures import (
    crystal_shapes_figure,
    eos_figure,
    intensity_figure,
    orientation_figure,
    vacancy_shapes_figure,
)
from .shape_report import crystal_rows, shape_label, shape_section, shaped_fluid_runs, vacancy_shape_rows
from .summaries_archive import merge_rows, read_archives
from .vacancy_report import (
    VACANCY_DEFINITIONS,
    VACANCY_INTRO,
    orthoslice_lines,
    vacancy_figures,
    vacancy_table,
    what_was_simulated,
)
from .verdicts import AGREE, DISAGREE

__all__ = ["write_report", "main"]


def _by_beta(jobs):
    groups = {}
    for job in jobs:
        be = statepoint_value(job, "beta_epsilon")
        be = float("nan") if be is None else round(float(be), 6)
        groups.setdefault(be, []).append(job)
    return dict(sorted(groups.items(), key=lambda kv: -kv[0] if math.isfinite(kv[0]) else 1e9))


def _family(job):
    """(phi, lambda, N, shape) of a job, rounded, None where unknown; shape '' for unit cubes."""

    def r(x):
        return None if x is None else round(float(x), 4)

    n = statepoint_value(job, "N") or get(job.get("summary"), "N")
    return (
        r(statepoint_value(job, "packing_fraction")),
        r(statepoint_value(job, "well_range")),
        None if n is None else int(n),
        shape_label(job),
    )


def _family_label(fam):
    phi, lam, n, shape = fam
    return f"φ={phi}, λ={lam}, N={n}" + (f", {shape}" if shape else "")


#: studies whose runs answer the equation of state only, not the seed claims
EOS_STUDIES = ("eos", "eos-quick")
#: hard particles of every rounding from a fluid: the shape section's, not seed 000's nucleation
CRYSTAL_SHAPE_STUDIES = ("crystal-shapes", "crystal-shapes-quick")


def _for_claims(job):
    """False for runs made only for the equation of state or the crystal-shape series
    (job["studies"], from the workflow)."""
    studies = job.get("studies") or []
    return not studies or any(s not in EOS_STUDIES + CRYSTAL_SHAPE_STUDIES for s in studies)


def _split(jobs):
    # a run without a vacancy, or at constant pressure (the lattice changes with the box), says
    # nothing about vacancies
    crystal = [
        j
        for j in jobs
        if get(j.get("summary"), "vacancy")
        and statepoint_value(j, "vacancies") != 0
        and statepoint_value(j, "pressure") is None
    ]
    fluid = [
        j
        for j in jobs
        if j not in crystal
        and (
            str(statepoint_value(j, "initial_state") or "").startswith("fluid")
            or get(j.get("summary"), "clusters")
        )
    ]
    return crystal, fluid


def _context(jobs):
    """Everything the claims and figures need. Crystal runs of different (φ, λ, N) are never
    averaged together; the claims use the seed's family (φ 0.8, λ 1.14) if present, else the
    largest one."""
    crystal, fluid = _split([j for j in jobs if _for_claims(j)])
    points = eos_points(jobs)
    fams = {}
    for j in crystal:
        fams.setdefault(_family(j), []).append(j)
    cubes = [f for f in fams if not f[3]]  # seed 000's claims are about (unit) cubes
    primary = max(cubes, key=lambda f: (f[0] == 0.8 and f[1] == 1.14, len(fams[f])), default=None)
    groups = _by_beta(fams[primary]) if primary else {}
    families = {_family_label(f): _by_beta(js) for f, js in sorted(fams.items(), key=str)}
    return {
        "jobs": jobs,
        "crystal": crystal,
        "fluid_jobs": [j for j in fluid if not shape_label(j)],
        "shaped_fluid_jobs": shaped_fluid_runs(fluid),
        "crystal_shapes": crystal_rows(jobs),
        "primary": primary,
        "groups": groups,
        "crystal_jobs": fams.get(primary, []),
        "families": families,
        "family_points": {label: vacancy_points(g) for label, g in families.items()},
        "vacancy_points": vacancy_points(groups),
        "vacancy_shapes": vacancy_shape_rows(families),
        "eos_points": points,
        "eos_left_out": sum(1 for j in jobs if changed_phase(j) and get(j.get("summary"), "eos")),
        "b2": virial_coefficients(points),
    }


def _figures(ctx, outdir):
    """Draw every figure the data allow; returns {file name: caption}."""
    made = {}
    made.update(vacancy_figures(ctx, outdir))
    if any(get(j.get("summary"), "orientation") for j in ctx["crystal_jobs"]):
        made[orientation_figure(ctx["groups"], outdir, ED_FWHM_DEG)] = (
            "In-plane FWHM against βε; band: ED upper limit"
        )
    if any(get(j.get("summary"), "scattering.q_nm") for j in ctx["crystal_jobs"]):
        made[intensity_figure(ctx["groups"], outdir)] = (
            "I(q) = P(q) S(q) on the SAXS axis with the measured peaks"
        )
    if ctx["eos_points"]:
        made[eos_figure(ctx["eos_points"], ctx["b2"], outdir)] = (
            "Equation of state: βPσ³ against φ (fluid and crystal starts, ±2 standard errors on the "
            "measured quantity) with the low-density virial line βP = ρ + B2 ρ²"
        )
    made.update(_shape_figures(ctx, outdir))
    made.update(fluid_figures(ctx["fluid_jobs"], outdir))
    for particles, js in ctx["shaped_fluid_jobs"].items():
        made.update(fluid_figures(js, outdir, particles))
    return made


def _shape_figures(ctx, outdir):
    made = {}
    if any(shape_label(j) for j in ctx["crystal"]) and ctx["vacancy_shapes"]:
        made[vacancy_shapes_figure(ctx["vacancy_shapes"], outdir)] = (
            "Vacancy spread against the rounding radius (φ 0.8) and for 12 % size-polydisperse "
            "against monodisperse cubes at the same φ (0.8), ±2 standard errors"
        )
    if ctx["crystal_shapes"]:
        made[crystal_shapes_figure(ctx["crystal_shapes"], outdir)] = (
            "Crystal grown from the hard fluid against the rounding radius: SC, FCC and HCP fractions"
        )
    return made


def _summary_section(ctx, verdicts, figures):
    lines = [
        "## In one minute",
        "",
        what_was_simulated(ctx),
        "",
        *_eos_summary(ctx),
    ]
    if ctx["groups"]:  # a study without vacancy crystals has no use for the vacancy measure
        lines += VACANCY_INTRO
    claims = {c.id: c for c in CLAIMS}
    agree = [k for k, v in verdicts.items() if v.verdict == AGREE]
    disagree = [k for k, v in verdicts.items() if v.verdict == DISAGREE]
    other = [k for k, v in verdicts.items() if v.verdict not in (AGREE, DISAGREE)]
    for title, ids in (("Agrees with the paper", agree), ("Does not agree", disagree)):
        lines.append(f"- **{title}:** " + ("none" if not ids else ""))
        lines += [f"  - {k} ({claims[k].statement}): {verdicts[k].value}" for k in ids]
    lines.append("- **Cannot tell:** " + ("none" if not other else ""))
    lines += [f"  - {k}: {verdicts[k].verdict}, {verdicts[k].test}" for k in other if k[0] in "VE"]
    rest = [k for k in other if k[0] not in "VE"]
    if rest:
        lines.append(f"  - {', '.join(rest)}: see the table (not testable with these runs or no data)")
    if "delocalisation.png" in figures:
        lines += ["", "![Vacancy spread against βε](delocalisation.png)"]
    return lines + [""]


def _claims_table(verdicts, figures):
    lines = [
        "## Seed claims and verdicts",
        "",
        "| id | claim (seed) | test | our value | sample | verdict | figure |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in CLAIMS:
        v = verdicts[c.id]
        fig = f"[{c.figure}]({c.figure})" if c.figure in figures else "—"
        lines.append(
            f"| {c.id} | {c.statement} ({c.seed}) | {v.test} | {v.value} | {v.evidence or '—'} "
            f"| **{v.verdict}** | {fig} |"
        )
    return lines + [""]


def _eos_summary(ctx):
    points = ctx["eos_points"]
    if not points:
        return []
    branches = sorted({f"{p['branch']} start ({p['ensemble']})" for p in points})
    return [
        f"Equation of state: {len(points)} state point{'' if len(points) == 1 else 's'}, "
        f"{', '.join(branches)}{_left_out(ctx)}; see the section *Equation of state* and eos.png.",
        "",
    ]


def _left_out(ctx):
    n = ctx["eos_left_out"]
    return f" ({n} runs from a fluid that crystallised or aggregated left out)" if n else ""


def _eos_section(ctx):
    return [
        "## Equation of state",
        "",
        "Pressure βPσ³ from the scale distribution function of every frame; packing fraction φ = N/V. "
        "At fixed φ (NVT) the pressure is measured, at fixed pressure (NPT, box moves) φ is; means ± "
        "standard errors from block averaging within runs, combined over replicas. B2 = 5.5 σ³ for "
        "hard cubes and [11 − (exp(−βε) − 1) x] / 2 with x the non-overlapping in-well volume of a "
        "pair (uniform sampling). Runs from a fluid whose last frame is a crystal or an aggregate "
        f"are no equation-of-state points and are left out ({ctx['eos_left_out']} here).",
        "",
        *eos_table(ctx["eos_points"], ctx["b2"]),
        "",
    ]


def write_report(job_summaries, outdir, pending=0, finish=None):
    """Write figures and report.md into `outdir`; returns the path of report.md.

    pending: jobs of the same project not analysed yet (an interim report says so at the top).
    finish: how to finish them, for that notice (default: the project's `project.py run`).

    job_summaries: list of {"statepoint": {...}, "summary": {...}, "series": {...}} (the output
    of analyze_trajectory plus the job's state point). Crystal runs are those with a vacancy
    summary; fluid runs have initial_state starting with "fluid" or cluster data.
    """
    os.makedirs(outdir, exist_ok=True)
    ctx = _context([to_jsonable(j) for j in job_summaries if j])
    verdicts = {c.id: judge(c, ctx) for c in CLAIMS}
    figures = _figures(ctx, outdir)
    lines = ["# cubemc report: vacancies in attractive cube crystals and the supraparticle paper", ""]
    if pending:
        lines += [_interim_notice(len(ctx["jobs"]), pending, finish), ""]
    lines += _summary_section(ctx, verdicts, figures) + _claims_table(verdicts, figures)
    if ctx["primary"] and len(ctx["families"]) > 1:
        lines += [f"Claims use the crystal runs with {_family_label(ctx['primary'])}.", ""]
    if ctx["crystal"]:
        lines += vacancy_table(ctx) + orthoslice_lines(ctx["crystal"], outdir)
    if ctx["fluid_jobs"]:
        lines += fluid_section(ctx["fluid_jobs"], outdir)
    for particles, js in ctx["shaped_fluid_jobs"].items():
        lines += fluid_section(js, outdir, particles)
    if ctx["eos_points"]:
        lines += _eos_section(ctx)
    lines += shape_section(ctx["vacancy_shapes"], ctx["crystal_shapes"])
    if figures:
        lines += ["## Figures", ""]
        for fn, caption in figures.items():
            lines += [f"**{caption}**", "", f"![{caption}]({fn})", ""]
    return write_text("\n".join(lines + VACANCY_DEFINITIONS), os.path.join(outdir, "report.md"))


def _interim_notice(done, pending, finish=None):
    finish = finish or "`python project.py run` finishes them and replaces this report with the full one."
    return (
        f"**Interim report: {done} of {done + pending} jobs analysed.** The other {pending} are "
        f"still running or waiting; every number below is from the analysed jobs only. {finish}"
    )


def main(argv=None):
    from cubemc.cli_errors import run_reporting_errors

    argv = sys.argv[1:] if argv is None else argv
    prog = "python -m cubemc.analysis.report"
    if len(argv) < 2:
        print(
            f"{prog}: error: usage: {prog} OUTDIR job.json|summaries.zip [...] (a .zip is what "
            "`python project.py export` writes)",
            file=sys.stderr,
        )
        return 2

    def work():
        # exports (.zip): every job of a project, pictures put in OUTDIR; several exports of one
        # project (parts run in different places) make one report, each job counted once
        archives = [fn for fn in argv[1:] if fn.endswith(".zip")]
        jobs, pending = read_archives(archives, os.path.join(argv[0], "pictures"))
        for fn in argv[1:]:
            if fn.endswith(".zip"):
                continue
            try:
                with open(fn, encoding="utf-8") as fh:
                    jobs.append(json.load(fh))
            except (OSError, ValueError) as error:
                raise ValueError(f"cannot read {fn}: {error}") from None
        jobs = merge_rows(jobs)
        finish = (
            "`python -m cubemc.analysis.summaries_archive --pending` on the exports names them; run "
            "them in the project (`project.py run -j`), export, and draw this report again with the new part."
        )
        print(write_report(jobs, argv[0], pending, finish if archives else None))

    # unreadable job files, a missing or full output folder, Ctrl-C: one line each
    return run_reporting_errors(prog, work, user_errors=(ValueError,))


if __name__ == "__main__":
    sys.exit(main())
