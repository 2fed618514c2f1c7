"""Figures of the cross-job report: one per claim, drawn on matplotlib's Agg canvas (no pyplot
state, no display)."""

from __future__ import annotations

import math
import os

import numpy as np

from .evidence import get
from .scattering import MEASURED_PEAKS_NM
from .stats import as_floats, combine_replicas
from .vacancy_criteria import ON_SITE_BOUND, shared_sites_line_shift, spread, strong_limit

__all__ = [
    "delocalisation_figure",
    "claim_distribution_figure",
    "orientation_figure",
    "intensity_figure",
    "eos_figure",
    "polydisperse_panel",
    "rounding_panel",
    "vacancy_shapes_figure",
    "crystal_shapes_figure",
]


def _figure(panels=1, width=4.8, height=3.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * panels, height))
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, panels, i + 1) for i in range(panels)]


def _save(fig, outdir, name):
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, name), dpi=110)
    return name


def delocalisation_figure(families, outdir, name="delocalisation.png", sites=3):
    """Spread above the strong-attraction limit against βε (with the thresholds of V1-V3) and
    the thresholded row length beside it. `families`: {label: {βε: VacancyPoint}}."""
    fig, (ax, ax2) = _figure(2)
    for c, (label, points) in enumerate(families.items()):
        limit = strong_limit(points)
        betas = sorted(points)
        if limit is not None:
            rows = [spread(points[b], limit)[:2] for b in betas]
            ax.errorbar(
                betas,
                [r[0] for r in rows],
                yerr=[2 * r[1] for r in rows],
                fmt="o-",
                capsize=3,
                color=f"C{c}",
                label=label,
            )
            bulk = [points[b]["bulk_line_shift"].mean for b in betas]
            ax.fill_between(
                betas,
                0,
                bulk,
                color=f"C{c}",
                alpha=0.15,
                lw=0,
                label="bulk thermal line shift" if c == 0 else None,
            )
        rl = [points[b]["row_length"] for b in betas]
        ax2.errorbar(
            betas,
            [e.mean for e in rl],
            yerr=[2 * e.sem for e in rl],
            fmt="s-",
            capsize=3,
            color=f"C{c}",
            label=label,
        )
    ax.axhline(
        shared_sites_line_shift(sites),
        color="k",
        ls="--",
        lw=0.8,
        label=f"vacancy shared by {sites} sites (V1, V2 bound)",
    )
    ax.axhline(
        ON_SITE_BOUND, color="k", ls=":", lw=0.8, label="halfway to a vacancy shared by 2 sites (V3 bound)"
    )
    ax.axhline(0, color="0.5", lw=0.5)
    ax.set_xlabel(r"$\beta\varepsilon$")
    ax.set_ylabel("spread above the strong-attraction limit (a)")
    ax.legend(fontsize=7)
    ax2.set_xlabel(r"$\beta\varepsilon$")
    ax2.set_ylabel("row length, 0.25 a threshold (sites)")
    ax2.axhline(1, color="0.5", lw=0.5)
    ax.set_title("threshold-free (±2 s.e.)", fontsize=9)
    ax2.set_title("thresholded companion (±2 s.e.)", fontsize=9)
    return _save(fig, outdir, name)


def claim_distribution_figure(points, betas, outdir, name, bound=None, bound_label=""):
    """Distributions behind one vacancy verdict: per-frame excess line shift and row length at
    the βε values that the verdict compares (the claim's, the limit's, and others given)."""
    fig, (ax, ax2) = _figure(2)
    shown = [b for b in dict.fromkeys(betas) if b in points]
    edges = np.linspace(-0.5, 3.0, 50)
    limit = strong_limit(points)
    for c, b in enumerate(shown):
        p = points[b]
        excess = p.line_shifts - p.bulk_shifts if p.bulk_shifts.size == p.line_shifts.size else p.line_shifts
        ax.hist(
            excess[np.isfinite(excess)],
            bins=edges,
            density=True,
            histtype="step",
            lw=1.5,
            color=f"C{c}",
            label=rf"$\beta\varepsilon$ = {b:g}" + (" (limit)" if p is limit else ""),
        )
        if p.rows.size:
            h = np.bincount(p.rows, minlength=p.n_cells + 1) / p.rows.size
            seen = h > 0  # a log axis has no place for empty bins
            ax2.plot(
                np.arange(h.size)[seen], h[seen], "o-", color=f"C{c}", label=rf"$\beta\varepsilon$ = {b:g}"
            )
    if shown and bound is not None and limit is not None:
        ax.axvline(limit["excess_line_shift"].mean + bound, color="k", ls="--", lw=0.8, label=bound_label)
    if shown:
        ax2.axvline(points[shown[0]].n_cells / 2, color="0.4", ls=":", lw=1, label="half the box")
    ax.set_xlabel("excess line shift per frame (a)")
    ax.set_ylabel("probability density")
    ax2.set_yscale("log")
    ax2.set_xlabel("row length, 0.25 a threshold (sites)")
    ax2.set_ylabel("fraction of frames")
    for a in (ax, ax2):
        a.legend(fontsize=7)
    return _save(fig, outdir, name)


def orientation_figure(groups, outdir, band, name="orientation_fwhm.png"):
    """Pooled in-plane FWHM against βε with the ED upper limit as a band."""
    fig, (ax,) = _figure(1)
    xs, ys, es = [], [], []
    for b, jobs in groups.items():
        vals = [get(j.get("summary"), "orientation.inplane_fwhm_pooled_deg") for j in jobs]
        vals = [v for v in vals if v is not None]
        if vals and math.isfinite(b):
            xs.append(b)
            ys.append(float(np.mean(vals)))
            es.append(_series_sem(jobs, "inplane_fwhm"))
    ax.errorbar(xs, ys, yerr=[2 * e for e in es], fmt="o-", capsize=3, label="simulation (±2 s.e.)")
    ax.axhspan(band[0] - band[1], band[0] + band[1], color="C3", alpha=0.2, label="ED upper limit (seed 000)")
    ax.set_xlabel(r"$\beta\varepsilon$")
    ax.set_ylabel("in-plane FWHM (deg)")
    ax.legend(fontsize=8)
    return _save(fig, outdir, name)


def _series_sem(jobs, key):
    from .stats import block_average

    runs = [block_average((j.get("series") or {}).get(key) or []) for j in jobs]
    sem = combine_replicas(runs).sem
    return sem if math.isfinite(sem) else 0.0


def intensity_figure(groups, outdir, name="intensity.png"):
    fig, (ax,) = _figure(1, 5.8, 3.8)
    for c, (b, jobs) in enumerate(groups.items()):
        for j in jobs:
            sc = get(j.get("summary"), "scattering")
            if sc and sc.get("q_nm") is not None:
                q = np.asarray(sc["q_nm"], dtype=float)
                iq = as_floats(sc["I"])
                ok = np.isfinite(iq) & (iq > 0)
                ax.semilogy(q[ok], iq[ok] * 10.0**c, lw=1, label=rf"$\beta\varepsilon$ = {b:g}")
                break
    for i, qm in enumerate(MEASURED_PEAKS_NM):
        ax.axvline(qm, color="k", ls="--", lw=0.8, label="measured (seed 000)" if i == 0 else None)
    ax.set_xlim(0.3, 1.5)
    ax.set_xlabel(r"$q$ (nm$^{-1}$)")
    ax.set_ylabel(r"$I(q) = P(q)S(q)$ (offset)")
    ax.legend(fontsize=7)
    return _save(fig, outdir, name)


def eos_figure(points, b2, outdir, name="eos.png", virial_up_to=0.25):
    """beta P sigma^3 against phi for every model (colour) and branch (marker: fluid or crystal
    start), ±2 standard errors on the measured quantity, with the low-density virial line
    beta P = phi + B2 phi^2 up to `virial_up_to`. `points`: analysis.eos.eos_points."""
    fig, (ax,) = _figure(1, 5.8, 4.2)
    models = sorted({(p["beta_epsilon"], p["well_range"]) for p in points}, key=lambda m: (-m[0], m[1]))
    for c, model in enumerate(models):
        for branch, marker in (("fluid", "o"), ("crystal", "s")):
            sel = [
                p for p in points if (p["beta_epsilon"], p["well_range"]) == model and p["branch"] == branch
            ]
            sel.sort(key=lambda p: p["packing_fraction"].mean)
            if not sel:
                continue
            ax.errorbar(
                [p["packing_fraction"].mean for p in sel],
                [p["pressure"].mean for p in sel],
                xerr=[2 * p["packing_fraction"].sem for p in sel],
                yerr=[2 * p["pressure"].sem for p in sel],
                fmt=marker + "-",
                ms=4,
                lw=0.8,
                capsize=2,
                color=f"C{c}",
                mfc="none" if branch == "crystal" else f"C{c}",
                label=rf"$\beta\varepsilon$ = {model[0]:g}, λ = {model[1]:g}, {branch} start",
            )
        lowest = min(p["packing_fraction"].mean for p in points)
        phi = np.linspace(max(0.5 * lowest, 1e-3), virial_up_to, 60)
        ax.plot(
            phi,
            phi + b2[model] * phi**2,
            ls="--",
            lw=1,
            color=f"C{c}",
            label=rf"virial, $B_2$ = {b2[model]:.2f} $\sigma^3$",
        )
    ax.set_yscale("log")
    ax.set_xlabel(r"packing fraction $\phi$")
    ax.set_ylabel(r"$\beta P \sigma^3$")
    ax.legend(fontsize=6)
    return _save(fig, outdir, name)


def _spread_errorbar(ax, x, rows, fmt, colour, beta):
    """The spread of `rows` (±2 standard errors) at `x`, in colour C`colour`, labelled by βε."""
    ax.errorbar(
        x,
        [r["spread"][0] for r in rows],
        yerr=[2 * r["spread"][1] for r in rows],
        fmt=fmt,
        ms=4,
        capsize=2,
        color=f"C{colour}",
        label=rf"$\beta\varepsilon$ = {beta:g}",
    )


def _family_parts(label):
    """('φ=…, λ=…, N=…', shape part or '') of a family label (analysis.report._family_label)."""
    parts = label.split(", ")
    return ", ".join(parts[:3]), ", ".join(parts[3:])


def polydisperse_panel(rows):
    """[(x, row)] for the right panel: x = 1 for the polydisperse families ('poly=' in the
    label), x = 0 for their monodisperse reference, the unit cubes at the same φ, λ and N (no
    shape, or a rounding radius of 0 with no edge ratios)."""
    from .shape_report import radius_of_label

    poly = {_family_parts(r["family"])[0] for r in rows if "poly=" in r["family"]}
    panel = []
    for r in rows:
        state, shape = _family_parts(r["family"])
        if state not in poly:
            continue
        if "poly=" in shape:
            panel.append((1.0, r))
        elif "1:" not in shape and radius_of_label(shape) == 0.0:
            panel.append((0.0, r))
    return panel


#: packing fraction of the rounding series in the left panel (the vacancy-shapes study's)
ROUNDING_PHI = 0.8


def _state_values(state):
    """{'φ': 0.8, 'λ': 1.14, 'N': 999.0} of a family's state part, None where it reads 'None'."""
    values = {}
    for part in state.split(", "):
        key, _, value = part.partition("=")
        values[key] = None if value == "None" else float(value)
    return values


def _rounded_or_cube(shape):
    """True for unit cubes and rounded cubes (no size polydispersity, no edge ratios)."""
    return "poly=" not in shape and "1:" not in shape


def rounding_panel(rows, phi=ROUNDING_PHI):
    """Rows for the left panel: the cubes and rounded cubes of one (φ, λ, N), φ equal to `phi` by
    value, the state holding the most rounded families (r > 0; ties: the larger N), so that runs
    at another φ or N never share its line."""
    from .shape_report import radius_of_label

    counts = {}
    for r in rows:
        state, shape = _family_parts(r["family"])
        if _state_values(state).get("φ") == phi and _rounded_or_cube(shape):
            rounded = radius_of_label(shape) > 0.0
            counts.setdefault(state, set()).update([r["family"]] if rounded else [])
    if not counts:
        return []
    best = max(counts, key=lambda st: (len(counts[st]), _state_values(st).get("N") or 0))
    return [
        r
        for r in rows
        if _family_parts(r["family"])[0] == best and _rounded_or_cube(_family_parts(r["family"])[1])
    ]


def vacancy_shapes_figure(rows, outdir, name="vacancy_shapes.png"):
    """Vacancy spread (±2 standard errors) against the rounding radius (left, rounding_panel) and
    for the monodisperse against the polydisperse cubes at the same φ (right, polydisperse_panel), one
    colour per βε.  `rows`: analysis.shape_report.vacancy_shape_rows."""
    from .shape_report import radius_of_label

    fig, (left, right) = _figure(2)
    betas = sorted({r["beta_epsilon"] for r in rows}, reverse=True)
    panel, series = polydisperse_panel(rows), rounding_panel(rows)
    for c, beta in enumerate(betas):
        sel = [r for r in series if r["beta_epsilon"] == beta]
        sel.sort(key=lambda r: radius_of_label(r["family"]))
        if sel:
            _spread_errorbar(left, [radius_of_label(r["family"]) for r in sel], sel, "o-", c, beta)
        pair = sorted(((x, r) for x, r in panel if r["beta_epsilon"] == beta), key=lambda p: p[0])
        if pair:
            _spread_errorbar(right, [x for x, _ in pair], [r for _, r in pair], "s-", c, beta)
    state = _family_parts(series[0]["family"])[0].replace("=", " = ") if series else f"φ = {ROUNDING_PHI:g}"
    left.set_xlabel(f"rounding radius r (outer edge 1), {state}")
    left.set_ylabel("spread above the βε = −3 limit (a)")
    right.set_xticks([0, 1], ["monodisperse", "polydisperse"])
    right.set_xlim(-0.5, 1.5)
    states = sorted({_family_parts(r["family"])[0].split(", ")[0] for _, r in panel})
    right.set_ylabel("spread above the limit (a), " + "; ".join(states).replace("=", " = "))
    for ax in (left, right):
        ax.axhline(0, color="k", lw=0.6)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    return _save(fig, outdir, name)


def crystal_shapes_figure(rows, outdir, name="crystal_shapes.png"):
    """Fractions of SC, FCC and HCP particles (±2 standard errors) against the rounding radius,
    one panel per (φ, N).  `rows`: analysis.shape_report.crystal_rows."""
    keys = sorted({(r["phi"], r["N"]) for r in rows}, key=str)
    fig, axes = _figure(len(keys))
    for ax, (phi, n) in zip(axes, keys, strict=True):
        sel = sorted((r for r in rows if (r["phi"], r["N"]) == (phi, n)), key=lambda r: r["r"])
        for c, kind in enumerate(("sc", "fcc", "hcp")):
            ax.errorbar(
                [r["r"] for r in sel],
                [r["fractions"][kind].mean for r in sel],
                yerr=[2 * r["fractions"][kind].sem for r in sel],
                fmt="o-",
                ms=4,
                capsize=2,
                color=f"C{c}",
                label=kind.upper(),
            )
        ax.set_xlabel("rounding radius r (0 cube, 0.5 sphere)")
        ax.set_ylabel("fraction of particles")
        ax.set_title(f"hard particles, φ = {phi}, N = {n}", fontsize=9)
        ax.set_ylim(-0.05, 1.05)
        ax.legend(fontsize=7)
    return _save(fig, outdir, name)
