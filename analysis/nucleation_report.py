"""The report's section on runs from a fluid (issue 17): per-run table, the state diagram
(class of each state point's last frames) with induction times, and their figures.

A run is classified by its last frame (summary ``clusters.state_final``, analysis.nucleation.
classify_state): "crystal" (a crystalline SC cluster of >= MIN_CRYSTAL cubes), "aggregate"
(no such cluster, but a cluster bonded by the well of >= MIN_AGGREGATE cubes) or "fluid".  A
state point is (well range, phi, beta*eps, N); its replicas are never averaged into one class:
the diagram shows how many runs reached each class, so a point where only some runs nucleated
reads as such.  The induction time is the first sampled sweep at which the largest crystalline
cluster had >= 50 cubes (summary ``clusters.induction_steps``), counted from the quench (the
tuning sweeps at the quench conditions come before it).
"""

from __future__ import annotations

import numpy as np

from .evidence import get, statepoint_value
from .verdicts import fmt

__all__ = ["CLASSES", "run_row", "state_points", "fluid_section", "state_diagram_figure", "growth_figure"]

#: classes in the order of increasing order, with their markers in the diagram
CLASSES = ("fluid", "aggregate", "crystal")
_MARKERS = {"fluid": ("o", "none"), "aggregate": ("^", "C1"), "crystal": ("s", "C0")}
#: induction: the largest crystalline cluster reaches this many cubes
INDUCTION_SIZE = "50"


def run_row(job) -> dict:
    """The numbers of one run from a fluid that the section shows."""
    s = job.get("summary") or {}
    state = get(s, "clusters.state_final") or {}
    return {
        "well_range": statepoint_value(job, "well_range") or s.get("well_range"),
        "packing_fraction": statepoint_value(job, "packing_fraction"),
        "beta_epsilon": statepoint_value(job, "beta_epsilon"),
        "N": s.get("N") or statepoint_value(job, "N"),
        "replica": statepoint_value(job, "replica"),
        "class": state.get("class"),
        "bonds_per_cube": state.get("bonds_per_cube"),
        "largest": get(s, "clusters.largest_final"),
        "crystalline_fraction": get(s, "clusters.crystalline_fraction_final"),
        "crystallites": get(s, "clusters.n_crystallites_final"),
        "induction": (get(s, "clusters.induction_steps") or {}).get(INDUCTION_SIZE),
        "sweeps": get(s, "last_step"),
        "cuboidality": ((get(s, "clusters.largest_shapes_final") or [{}])[0]).get("cuboidality"),
    }


def _key(row):
    return tuple(row[k] for k in ("well_range", "packing_fraction", "beta_epsilon", "N"))


def state_points(jobs) -> list[dict]:
    """One entry per (well range, phi, beta*eps, N) with a classified run: the class counts over
    its runs, the induction times of the runs that reached the size, and the sweeps run."""
    groups = {}
    for row in map(run_row, jobs):
        if row["class"] in CLASSES and None not in _key(row):
            groups.setdefault(_key(row), []).append(row)
    points = []
    for key, rows in sorted(groups.items()):
        times = [r["induction"] for r in rows if r["induction"] is not None]
        points.append(
            dict(
                zip(("well_range", "packing_fraction", "beta_epsilon", "N"), key, strict=True),
                runs=len(rows),
                counts={c: sum(r["class"] == c for r in rows) for c in CLASSES},
                induction=times,
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


def fluid_section(jobs) -> list[str]:
    """Markdown lines: the state diagram table (when runs are classified) and the per-run table."""
    lines = ["## Runs from a fluid (nucleation)", ""]
    points = state_points(jobs)
    if points:
        lines += [
            "### State diagram",
            "",
            "Class of each run's last frame (crystal: an SC cluster of ≥ 30 cubes; aggregate: none, but "
            "≥ 30 cubes bonded by the well; fluid: neither) after the sweeps shown; induction: first "
            "sampled sweep with a crystalline cluster of ≥ 50 cubes, mean (range) over the runs that "
            "reached it.  A run that stays fluid within its sweeps may still nucleate later.",
            "",
            "| λ | φ | βε | N | sweeps | runs by class | induction (sweeps) |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in points:
            lines.append(
                f"| {p['well_range']:g} | {p['packing_fraction']:g} | {p['beta_epsilon']:g} | {p['N']} | "
                f"{'—' if p['sweeps'] is None else p['sweeps']} | {_counts_text(p)} | {_induction_text(p)} |"
            )
        lines += ["", "![State diagram](state_diagram.png)", ""]
    lines += [
        "| λ | φ | βε | replica | N | class | bonds / cube | largest cluster (final) | crystalline fraction "
        "| crystallites ≥ 30 | induction | cuboidality |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(map(run_row, jobs), key=lambda r: tuple(_sortable(x) for x in (*_key(r), r["replica"]))):
        cells = [r[k] for k in ("well_range", "packing_fraction", "beta_epsilon", "replica", "N", "class")]
        cells += [fmt(r["bonds_per_cube"]), r["largest"], fmt(r["crystalline_fraction"]), r["crystallites"]]
        cells += [r["induction"], fmt(r["cuboidality"])]
        lines.append("| " + " | ".join("—" if c is None else str(c) for c in cells) + " |")
    return lines + [""]


def _sortable(x):
    return (1, 0) if x is None else (0, x)


def state_diagram_figure(jobs, outdir, name="state_diagram.png"):
    """phi (x) against beta*eps (y), one panel per well range; each run a marker by class, the
    runs of one state point side by side."""
    from .report_figures import _figure, _save

    points = state_points(jobs)
    wells = sorted({p["well_range"] for p in points})
    fig, axes = _figure(len(wells), 4.2, 3.8)
    for ax, well in zip(axes, wells, strict=True):
        for p in (p for p in points if p["well_range"] == well):
            classes = [c for c in CLASSES for _ in range(p["counts"][c])]
            for i, c in enumerate(classes):
                dx = 0.012 * (i - (len(classes) - 1) / 2)
                marker, face = _MARKERS[c]
                ax.plot(p["packing_fraction"] + dx, p["beta_epsilon"], marker, mfc=face, mec="k", ms=8)
        for c in CLASSES:
            marker, face = _MARKERS[c]
            ax.plot([], [], marker, mfc=face, mec="k", ms=8, label=c)
        ax.set_title(rf"$\lambda$ = {well:g}")
        ax.set_xlabel(r"packing fraction $\phi$")
        ax.set_ylabel(r"$\beta\varepsilon$")
        ax.legend(fontsize=7, loc="lower left")
        ax.margins(0.1)
    return _save(fig, outdir, name)


def growth_figure(jobs, outdir, name="cluster_growth.png"):
    """Largest crystalline cluster against sweeps, one panel per well range, a line per run."""
    from .report_figures import _figure, _save

    runs = [j for j in jobs if (j.get("series") or {}).get("largest_cluster") and j["series"].get("step")]
    wells = sorted({run_row(j)["well_range"] for j in runs}, key=_sortable)
    fig, axes = _figure(len(wells), 5.0, 3.8)
    for ax, well in zip(axes, wells, strict=True):
        mine = [j for j in runs if run_row(j)["well_range"] == well]
        for j in mine:
            r, s = run_row(j), j["series"]
            label = f"φ={r['packing_fraction']}, βε={r['beta_epsilon']}, rep {r['replica']}"
            ax.plot(s["step"], s["largest_cluster"], lw=1, label=label)
        if well is not None:
            ax.set_title(rf"$\lambda$ = {well:g}")
        ax.set_xlabel("sweep")
        ax.set_ylabel("largest crystalline cluster (cubes)")
        ax.legend(fontsize=6, ncol=1 + len(mine) // 8)
    return _save(fig, outdir, name)
