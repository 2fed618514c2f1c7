"""The report's table of supraparticles measured as seed 000 measures them (issue 17, item 3).

One row per run from a fluid whose last frame has a crystallite that does not wrap the box
(ClusterAnalyzer's `nonspanning_final`, mapped by analysis.supraparticle): shape, SC order,
alignment, lattice constant and vacancies (by sites, and without a lattice: local_sites), under
a first row with the experiments' numbers.  The last column says whether F1 pools the SP's
vacancy counts (one lattice fits it: supraparticle.ON_ONE_LATTICE) or shows them apart, so a
pooled verdict can be traced to the SPs behind it.
"""

from __future__ import annotations

from .evidence import get
from .nucleation_report import run_order, run_row
from .supraparticle import EXPERIMENT, MIN_SP_CUBES, ON_ONE_LATTICE, large_enough, on_one_lattice
from .verdicts import fmt

__all__ = ["mapped_sp", "sp_rows", "sp_table"]

_HEADER = (
    "| λ | φ | βε | replica | cubes | extents (sites) | cuboidality | hull fill | on its sites "
    "| rms shift (a) | misorientation (°) | in-plane FWHM (°) | a (nm) | bulk empty | surface empty "
    "| without a lattice: bulk, surface | F1 |"
)


def _experiment_row():
    e = EXPERIMENT
    fwhm, a_nm, surface = e["inplane_fwhm_deg"], e["lattice_constant_nm"], e["surface_vacancy_fraction"]
    cells = ["experiment (seed 000)", "", "", "", "10²-10³", "", "cuboidal", "", "", ""]
    cells += ["", f"≤ {fwhm[0]:g} ± {fwhm[1]:g} (ED)", f"{a_nm[0]:g} ± {a_nm[1]:g}"]
    cells += [
        f"{100 * e['bulk_vacancy_fraction']:g} %",
        f"{100 * surface[0]:g} ± {100 * surface[1]:g} %",
        "",
        "",
    ]
    return "| " + " | ".join(cells) + " |"


def _vacancies(sp, kind):
    k, n = sp[f"{kind}_vacancies"], sp[f"{kind}_sites"]
    return f"{k}/{n} ({fmt(100 * k / n, 1)} %)" if n else "—"


def _lattice_free(sp):
    counts = sp.get("lattice_free")
    return None if counts is None else f"{_vacancies(counts, 'bulk')}, {_vacancies(counts, 'surface')}"


def _f1_use(sp):
    """What F1 does with the SP: pools it, shows it apart (not on one lattice) or skips it."""
    if not large_enough(sp):
        return f"too small (< {MIN_SP_CUBES})"
    return "pooled" if on_one_lattice(sp) else "apart"


def mapped_sp(job):
    """The SP summary of a run's last-frame non-spanning crystallite when it was mapped on sites
    (the SP that N2, F1 and this table measure), else None."""
    sp = get(job.get("summary"), "clusters.nonspanning_final.supraparticle")
    return sp if sp and sp.get("bulk_sites") is not None else None


def sp_rows(jobs):
    """(run_row, SP summary) of each run with a mapped_sp, in the report's order."""
    found = [(run_row(job), sp) for job in jobs if (sp := mapped_sp(job))]
    return sorted(found, key=lambda pair: run_order(pair[0]))


def sp_table(jobs) -> list[str]:
    """Markdown lines of the section (none without a mapped crystallite)."""
    rows = sp_rows(jobs)
    if not rows:
        return []
    lines = [
        "### Supraparticles measured as in the experiments (last frame)",
        "",
        "The largest crystallite of each run that does not wrap the box, mapped onto its own SC "
        "lattice along its bonds: extents in sites, cuboidality (cubes / product of the extents), "
        "hull fill, the fraction of cubes within 0.25 a of their site and their rms shift from it, "
        "mean misorientation from the SP's axes, in-plane FWHM (the electron-diffraction "
        "counterpart), lattice constant and empty bulk and surface sites, also counted without a "
        "lattice from each cube's own axes (analysis.local_sites). F1 pools the SPs that "
        f"one lattice fits (≥ {100 * ON_ONE_LATTICE:g} % of cubes on their sites) of at least "
        f"{MIN_SP_CUBES} cubes; in the others a "
        "hole in the site count may be where the mapping breaks down, and F1 shows their count "
        "without a lattice (docs/analysis.md).",
        "",
        _HEADER,
        "|" + "---|" * _HEADER.count(" | ") + "---|",
        _experiment_row(),
    ]
    for r, sp in rows:
        cells = [r[k] for k in ("well_range", "packing_fraction", "beta_epsilon", "replica")]
        cells += [sp.get("size"), " × ".join(map(str, sp.get("extents") or [])) or None]
        cells += [fmt(sp.get(k)) for k in ("cuboidality", "hull_fill", "site_fraction", "rms_displacement")]
        cells += [
            fmt(sp.get(k), 1) for k in ("misorientation_mean_deg", "inplane_fwhm_deg", "lattice_constant_nm")
        ]
        cells += [_vacancies(sp, "bulk"), _vacancies(sp, "surface"), _lattice_free(sp)]
        cells.append(_f1_use(sp))
        lines.append("| " + " | ".join("—" if c is None else str(c) for c in cells) + " |")
    return lines + [""]
