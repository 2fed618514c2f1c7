"""The report's section on runs from a fluid (issue 17): per-run table, the state diagram
(class of each state point's last frames) with induction times, and their figures.

A run is classified by its last frame (summary ``clusters.state_final``, analysis.nucleation.
classify_state): "crystal" (a crystalline SC cluster of >= MIN_CRYSTAL cubes), "aggregate"
(no such cluster, but a cluster bonded by the well of >= MIN_AGGREGATE cubes) or "fluid".  A
state point is (well range, phi, beta*eps, N) run with one protocol (production sweeps, VMMC
cluster moves per cube and sweep: induction times of different dynamics or lengths are not
replicas of each other); its replicas are never averaged into one class:
the diagram shows how many runs reached each class, so a point where only some runs nucleated
reads as such.  The induction time is the first sampled sweep at which the largest crystalline
cluster had >= 50 cubes (summary ``clusters.induction_steps``), counted from the quench (the
tuning sweeps at the quench conditions come before it).

Growth of the runs classed crystal: the cubes held by crystalline clusters of each size class
(clusters.SIZE_CLASSES) and the number of SPs (clusters of >= 30 cubes) against sweeps, one
panel per run for at most MAX_GROWTH_PANELS runs, and a link to each one's picture of the last
frame (crystallites.png, summary ``crystallites_png``).
"""

from __future__ import annotations

import os
import re

import numpy as np

from .clusters import SIZE_CLASSES, size_class_key
from .evidence import get, statepoint_value
from .nucleation_rate import nucleation_rate
from .stats import as_floats
from .verdicts import fmt

__all__ = [
    "CLASSES",
    "run_row",
    "run_order",
    "STATE_FIELDS",
    "moves_text",
    "quench_summary",
    "sp_cuboidality",
    "state_key",
    "state_points",
    "fluid_section",
    "fluid_figures",
    "state_diagram_figure",
    "growth_figure",
    "growth_runs",
    "size_classes_figure",
    "sp_history_figure",
]

#: classes in the order of increasing order, with their markers in the diagram
CLASSES = ("fluid", "aggregate", "crystal")
_MARKERS = {"fluid": ("o", "none"), "aggregate": ("^", "C1"), "crystal": ("s", "C0")}
#: induction: the largest crystalline cluster reaches this many cubes
INDUCTION_SIZE = "50"
#: size_classes_figure draws at most this many runs (one panel each)
MAX_GROWTH_PANELS = 6
#: sp_history_figure draws a vacancy fraction only from this many sites on (fewer read in
#: steps of 2 % or more)
MIN_SITES_DRAWN = 50


def run_row(job) -> dict:
    """The numbers of one run from a fluid that the section shows."""
    s = job.get("summary") or {}
    state = get(s, "clusters.state_final") or {}
    nonspanning = get(s, "clusters.nonspanning_final")
    return {
        "well_range": statepoint_value(job, "well_range") or s.get("well_range"),
        "packing_fraction": statepoint_value(job, "packing_fraction"),
        "beta_epsilon": statepoint_value(job, "beta_epsilon"),
        "N": s.get("N") or statepoint_value(job, "N"),
        "replica": statepoint_value(job, "replica"),
        "production_sweeps": statepoint_value(job, "production_sweeps"),
        "vmmc": statepoint_value(job, "vmmc_moves_per_particle") or 0,
        "class": state.get("class"),
        "bonds_per_cube": state.get("bonds_per_cube"),
        "reference_bonds": (state.get("reference") or {}).get("bonds_per_cube"),
        "largest": get(s, "clusters.largest_final"),
        "crystalline_fraction": get(s, "clusters.crystalline_fraction_final"),
        "crystallites": get(s, "clusters.n_crystallites_final"),
        "induction": (get(s, "clusters.induction_steps") or {}).get(INDUCTION_SIZE),
        "sweeps": get(s, "last_step"),
        "volume": float(np.prod(s["box"])) if s.get("box") else None,
        # N2's number: the largest crystallite that does not wrap the box (None: none)
        "cuboidality": None if nonspanning is None else sp_cuboidality(nonspanning),
        # tells a compact round crystallite (cuboidality ~0.5, hull fill ~1) from a ragged one
        "hull_fill": None if nonspanning is None else get(nonspanning, "supraparticle.hull_fill"),
    }


def sp_cuboidality(ns):
    """Cuboidality of a non-spanning crystallite (ClusterAnalyzer's `nonspanning_final`): N /
    (product of its extents in lattice sites) (analysis.supraparticle), which a box-shaped
    crystallite meets exactly at any temperature.  Summaries from before the site mapping fall
    back to cluster_shape's continuous value, which thermal displacements lower (a 6^3 or 7^3
    block at beta*eps -5 reads 0.78-0.85)."""
    site_value = get(ns, "supraparticle.cuboidality")
    return site_value if site_value is not None else ns["shape"]["cuboidality"]


def quench_summary(jobs):
    """'; R runs from a fluid with attraction at P state points, whose last frames are ...' for
    the report's summary ('' without such runs: runs without attraction are not classified)."""
    rows = [r for r in map(run_row, jobs) if r["class"]]
    if not rows:
        return ""
    counts = {c: sum(r["class"] == c for r in rows) for c in ("crystal", "aggregate", "fluid")}
    classes = ", ".join(f"{k} {c}" for c, k in counts.items() if k)
    points = len({state_key(r) for r in rows})
    return (
        f"; {len(rows)} runs from a fluid with attraction at {points} state point(s), whose last "
        f"frames are {classes} (section *Runs from a fluid*)"
    )


#: what the replicas of a state point share (STATE_FIELDS[:4] the physics, the rest the protocol)
STATE_FIELDS = ("well_range", "packing_fraction", "beta_epsilon", "N", "production_sweeps", "vmmc")


def state_key(row):
    """(well range, phi, beta*eps, N, production sweeps, VMMC moves) of a run_row: what its
    replicas share."""
    return tuple(row[k] for k in STATE_FIELDS)


def moves_text(vmmc) -> str:
    return f"+ VMMC {vmmc:g}" if vmmc else "single"


def state_points(jobs) -> list[dict]:
    """One entry per (well range, phi, beta*eps, N) with a classified run: the class counts over
    its runs, the induction times of the runs that reached the size, the rate of reaching it
    (analysis.nucleation_rate; None without the box in the summaries) and the sweeps run."""
    groups = {}
    for row in map(run_row, jobs):
        if row["class"] in CLASSES and None not in state_key(row)[:4]:
            groups.setdefault(state_key(row), []).append(row)
    points = []
    for key, rows in sorted(groups.items()):
        times = [r["induction"] for r in rows if r["induction"] is not None]
        waited = [r["sweeps"] for r in rows if r["induction"] is None and r["sweeps"] is not None]
        volumes = [r["volume"] for r in rows if r["volume"]]
        points.append(
            dict(
                zip(STATE_FIELDS, key, strict=True),
                runs=len(rows),
                counts={c: sum(r["class"] == c for r in rows) for c in CLASSES},
                induction=times,
                rate=nucleation_rate(times, waited, np.mean(volumes)) if volumes else None,
                sweeps=min((r["sweeps"] for r in rows if r["sweeps"] is not None), default=None),
            )
        )
    return points


def _counts_text(point):
    n = point["runs"]
    return ", ".join(f"{c} {k}/{n}" for c, k in point["counts"].items() if k) or "—"


def _induction_text(point):
    t = point["induction"]
    if not t:
        return "—"
    text = f"{np.mean(t):.0f}" if len(t) == 1 else f"{np.mean(t):.0f} ({min(t)}–{max(t)})"
    return text + ("" if len(t) == point["runs"] else f" in {len(t)} of {point['runs']} runs")


def figure_prefix(particles: str) -> str:
    """File-name prefix of the figures of a section of other particles than unit cubes:
    'cuboid poly=0.12' -> 'cuboid-poly-0.12-' ('' for unit cubes)."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", particles).strip("-") + "-" if particles else ""


def fluid_section(jobs, outdir=None, particles="") -> list[str]:
    """Markdown lines: the state diagram table (when runs are classified), the per-run table and
    links to the pictures of grown SPs (paths relative to `outdir`, the report's folder).
    `particles`: the shape label of runs of other particles than unit cubes (their own section)."""
    lines = [f"## Runs from a fluid{f' of {particles}' if particles else ''} (nucleation)", ""]
    points = state_points(jobs)
    if points:
        lines += [
            "### State diagram",
            "",
            "Class of each run's last frame (crystal: an SC cluster of ≥ 30 cubes; aggregate: none, but "
            "≥ 30 cubes bonded by the well, with at least twice the well contacts per cube of the hard "
            "fluid the run started from; fluid: neither) after the sweeps shown; induction: first "
            "sampled sweep with a crystalline cluster of ≥ 50 cubes, mean (range) over the runs that "
            "reached it.  A run that stays fluid within its sweeps may still nucleate later.  Rate: "
            "of reaching 50 cubes per σ³ and sweep, maximum likelihood from the induction times (runs "
            "that never did count their sweeps), 95 % interval (analysis.nucleation_rate).",
            "",
            "| λ | φ | βε | N | moves | sweeps | runs by class | induction (sweeps) | rate (σ⁻³ sweep⁻¹) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for p in points:
            lines.append(
                f"| {p['well_range']:g} | {p['packing_fraction']:g} | {p['beta_epsilon']:g} | {p['N']} | "
                f"{moves_text(p['vmmc'])} | "
                f"{'—' if p['sweeps'] is None else p['sweeps']} | {_counts_text(p)} | {_induction_text(p)} | "
                f"{'—' if p['rate'] is None else p['rate'].text()} |"
            )
        lines += ["", f"![State diagram]({figure_prefix(particles)}state_diagram.png)", ""]
    lines += [
        "| λ | φ | βε | replica | N | class | bonds / cube (hard start) | largest cluster (final) "
        "| crystalline fraction | crystallites ≥ 30 | induction | cuboidality | hull fill |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(map(run_row, jobs), key=run_order):
        cells = [r[k] for k in ("well_range", "packing_fraction", "beta_epsilon", "replica", "N", "class")]
        bonds = fmt(r["bonds_per_cube"]) + (
            "" if r["reference_bonds"] is None else f" ({fmt(r['reference_bonds'])})"
        )
        cells += [bonds, r["largest"], fmt(r["crystalline_fraction"]), r["crystallites"]]
        cells += [r["induction"], fmt(r["cuboidality"]), fmt(r["hull_fill"])]
        lines.append("| " + " | ".join("—" if c is None else str(c) for c in cells) + " |")
    from .sp_report import sp_table  # it builds on run_row: imported here, not at the top

    return lines + [""] + sp_table(jobs) + _crystallite_links(jobs, outdir)


def _crystallite_links(jobs, outdir):
    """Links to the crystallites.png of the runs classed crystal, relative to the report folder."""
    links = []
    for job in jobs:
        r, path = run_row(job), get(job.get("summary"), "crystallites_png")
        if r["class"] == "crystal" and path:
            rel = os.path.relpath(path, outdir) if outdir and os.path.isabs(path) else path
            links.append((run_order(r), f"- {_run_label(r)}: ![]({rel})"))
    if not links:
        return []
    return [
        "### Grown supraparticles (last frame)",
        "",
        "Runs classed crystal, every cube drawn as a cube: the four largest crystalline clusters in red, "
        "blue, green and orange, other crystalline cubes purple, the rest pale.",
        "",
        *(text for _, text in sorted(links)),
        "",
    ]


def _run_label(row):
    values = (row[k] for k in ("well_range", "packing_fraction", "beta_epsilon", "replica"))
    return "λ {}, φ {}, βε {}, replica {}".format(*values)


def _sortable(x):
    return (1, 0) if x is None else (0, x)


def run_order(row):
    """Sort key of a run_row: state point (STATE_FIELDS), then replica; None last."""
    return tuple(_sortable(x) for x in (*state_key(row), row["replica"]))


def state_diagram_figure(jobs, outdir, name="state_diagram.png"):
    """phi (x) against beta*eps (y), one panel per well range; each run a marker by class, the
    runs at one (phi, beta*eps) side by side (every N and protocol, in the table's order)."""
    from .report_figures import _figure, _save

    points = state_points(jobs)
    wells = sorted({p["well_range"] for p in points})
    fig, axes = _figure(len(wells), 4.2, 3.8)
    for ax, well in zip(axes, wells, strict=True):
        spots = {}
        for p in (p for p in points if p["well_range"] == well):
            classes = [c for c in CLASSES for _ in range(p["counts"][c])]
            spots.setdefault((p["packing_fraction"], p["beta_epsilon"]), []).extend(classes)
        for (phi, beta), classes in spots.items():
            for i, c in enumerate(classes):
                dx = 0.012 * (i - (len(classes) - 1) / 2)
                marker, face = _MARKERS[c]
                ax.plot(phi + dx, beta, marker, mfc=face, mec="k", ms=8)
        for c in CLASSES:
            marker, face = _MARKERS[c]
            ax.plot([], [], marker, mfc=face, mec="k", ms=8, label=c)
        ax.set_title(rf"$\lambda$ = {well:g}")
        ax.set_xlabel(r"packing fraction $\phi$")
        ax.set_ylabel(r"$\beta\varepsilon$")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
        ax.margins(0.1)
    return _save(fig, outdir, name)


def growth_figure(jobs, outdir, name="cluster_growth.png"):
    """Largest crystalline cluster against sweeps, one panel per well range, a line per run."""
    from .report_figures import _figure, _save

    runs = [
        (run_row(j), j["series"])
        for j in jobs
        if (j.get("series") or {}).get("largest_cluster") and j["series"].get("step")
    ]
    wells = sorted({r["well_range"] for r, _ in runs}, key=_sortable)
    fig, axes = _figure(len(wells), 5.0, 3.8)
    for ax, well in zip(axes, wells, strict=True):
        mine = [(r, s) for r, s in runs if r["well_range"] == well]
        for r, s in mine:
            label = f"φ={r['packing_fraction']}, βε={r['beta_epsilon']}, rep {r['replica']}"
            ax.plot(s["step"], s["largest_cluster"], lw=1, label=label)
        if well is not None:
            ax.set_title(rf"$\lambda$ = {well:g}")
        ax.set_xlabel("sweep")
        ax.set_ylabel("largest crystalline cluster (cubes)")
        ax.legend(fontsize=6, ncol=1 + len(mine) // 8)
    return _save(fig, outdir, name)


def fluid_figures(jobs, outdir, particles="") -> dict:
    """Draw the section's figures the data allow; returns {file name: caption}.  `particles`: as
    fluid_section's (names prefixed by figure_prefix, captions name the particles)."""
    made, pre = {}, figure_prefix(particles)
    of = f" of {particles}" if particles else ""
    if any((j.get("series") or {}).get("largest_cluster") and j["series"].get("step") for j in jobs):
        made[growth_figure(jobs, outdir, pre + "cluster_growth.png")] = (
            f"Growth of the largest SC cluster in runs from a fluid{of}"
        )
    if state_points(jobs):
        made[state_diagram_figure(jobs, outdir, pre + "state_diagram.png")] = (
            f"State diagram of the runs from a fluid{of}: class of each run's last frame"
        )
    shown, total = growth_runs(jobs)
    followed = [j for j in shown if (j.get("series") or {}).get("largest_bulk_sites")]
    if followed:
        made[sp_history_figure(followed, outdir, pre + "sp_history.png")] = (
            f"The largest SP (non-spanning crystallite) of {len(followed)} runs{of} against sweeps: "
            "cuboidality (N2's site measure; dashed: its 0.75) and the bulk and surface vacancy "
            f"fractions (F1's; shown once the SP has {MIN_SITES_DRAWN} sites of the kind; dashed "
            "and band: the experiments' 3.3 % and 5.5 ± 1.5 %)"
        )
    if shown:
        made[size_classes_figure(shown, outdir, pre + "cluster_sizes.png")] = (
            f"Crystalline cluster sizes against sweeps in {len(shown)} of the {total} runs{of} classed "
            "crystal (state points in order, the first replica of each before any second): the fraction "
            "of all cubes in clusters of each size class (stacked) and the number of SPs (≥ 30 cubes, "
            "black)"
        )
    return made


def growth_runs(jobs, limit=MAX_GROWTH_PANELS):
    """(runs to draw, how many could be): the runs classed crystal with size-class series, at most
    `limit`, in state-point order with the first replica of every state point before any second."""
    key = size_class_key("cubes", SIZE_CLASSES[0])
    runs = [(run_row(j), j) for j in jobs if (j.get("series") or {}).get(key) and j["series"].get("step")]
    runs = sorted(((r, j) for r, j in runs if r["class"] == "crystal"), key=lambda rj: run_order(rj[0]))
    turns, seen = [], {}
    for r, _ in runs:  # the how-many-th replica of its state point this run is
        k = state_key(r)
        turns.append(seen.get(k, 0))
        seen[k] = turns[-1] + 1
    picked = sorted(sorted(range(len(runs)), key=lambda i: (turns[i], i))[:limit])
    return [runs[i][1] for i in picked], len(runs)


def _class_label(size_class):
    lo, hi = size_class
    return f"{lo}+ cubes" if hi is None else f"{lo}–{hi} cubes"


def size_classes_figure(runs, outdir, name="cluster_sizes.png"):
    """One panel per run: fraction of the cubes in crystalline clusters of each size class
    (stacked areas, left axis) and the number of SPs (right axis) against sweeps."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from .report_figures import _save

    cols = min(3, len(runs))
    rows = -(-len(runs) // cols)
    fig = Figure(figsize=(4.6 * cols, 3.6 * rows))
    FigureCanvasAgg(fig)
    for i, job in enumerate(runs):
        ax = fig.add_subplot(rows, cols, i + 1)
        r, s = run_row(job), job["series"]
        cubes = [np.asarray(s[size_class_key("cubes", c)], dtype=float) / (r["N"] or 1) for c in SIZE_CLASSES]
        ax.stackplot(s["step"], cubes, labels=[_class_label(c) for c in SIZE_CLASSES], alpha=0.75)
        ax.set_ylim(0, 1)
        ax.set_xlabel("sweep")
        ax.set_ylabel("fraction of cubes")
        ax.set_title(_run_label(r), fontsize=9)
        twin = ax.twinx()
        sps = s.get("n_crystallites") or [0] * len(s["step"])
        twin.plot(s["step"], sps, "k-", lw=1.2)
        twin.set_ylabel("SPs (≥ 30 cubes)")
        twin.set_ylim(0, 1.15 * max(1, *sps))
        twin.yaxis.set_major_locator(MaxNLocator(integer=True))
        if i == 0:
            ax.legend(fontsize=6, loc="upper left")
    return _save(fig, outdir, name)


def sp_history_figure(runs, outdir, name="sp_history.png"):
    """The largest non-spanning crystallite of each run against sweeps: cuboidality and the bulk
    and surface vacancy fractions (clusters.SP_SERIES), with N2's threshold and F1's values."""
    from .claims import CLAIMS
    from .report_figures import _figure, _save

    fig, axes = _figure(3, 4.4, 3.6)
    params = {c.id: c.parameters for c in CLAIMS}
    bulk, (surface, band) = params["F1"]["bulk"], params["F1"]["surface"]
    for job in runs:
        r, s = run_row(job), job["series"]
        axes[0].plot(s["step"], as_floats(s["largest_cuboidality"]), lw=1, label=_run_label(r))
        for ax, kind in zip(axes[1:], ("bulk", "surface"), strict=True):
            sites, holes = as_floats(s[f"largest_{kind}_sites"]), as_floats(s[f"largest_{kind}_vacancies"])
            shown = np.where(sites >= MIN_SITES_DRAWN, 100 * holes / np.maximum(sites, 1), np.nan)
            ax.plot(s["step"], shown, lw=1)
    axes[0].axhline(params["N2"]["cuboidality"], color="k", ls="--", lw=0.8)
    axes[1].axhline(100 * bulk, color="k", ls="--", lw=0.8)
    axes[2].axhspan(100 * (surface - band), 100 * (surface + band), color="0.85")
    axes[2].axhline(100 * surface, color="k", ls="--", lw=0.8)
    steps = [x for job in runs for x in job["series"]["step"]]
    for ax, label in zip(axes, ("cuboidality", "bulk vacancies (%)", "surface vacancies (%)"), strict=True):
        ax.set_xlim(min(steps), max(steps))  # one time axis for the three panels
        ax.set_xlabel("sweep")
        ax.set_ylabel(label)
    axes[0].set_ylim(0, 1.05)
    axes[0].legend(fontsize=6)
    return _save(fig, outdir, name)
