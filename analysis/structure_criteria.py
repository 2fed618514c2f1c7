"""Scattering, orientation and nucleation claims (S1, S2, R1, N1, N2, F1)."""

from __future__ import annotations

import math

import numpy as np

from .evidence import get
from .nucleation_report import moves_text, run_row, sp_cuboidality, state_key
from .scattering import MEASURED_LATTICE_NM, MEASURED_PEAKS_NM, SC_RATIOS
from .sp_report import mapped_sp
from .stats import block_average, combine_replicas, replica_mean_sem
from .supraparticle import MIN_SP_CUBES, ON_ONE_LATTICE, large_enough, on_one_lattice
from .verdicts import (
    AGREE,
    DISAGREE,
    INSUFFICIENT,
    NOT_MEASURED,
    TOO_SMALL,
    Verdict,
    Z,
    compare,
    describe_sample,
    fmt,
)

__all__ = ["TESTS", "matched_peaks"]

#: SC ratios of the four peaks the experiment lists ({100} {110} {200} {210}; no {111})
LISTED_RATIOS = tuple(SC_RATIOS[[0, 1, 3, 4]])
#: how N2 and F1 name a crystallite that one lattice does not fit
_OFF_LATTICE = f"not on one lattice (< {100 * ON_ONE_LATTICE:g} % of cubes on its sites)"


def matched_peaks(jobs):
    """Per measured peak: (q in nm^-1, hkl, ratio) of the nearest simulated peak of each job,
    and the simulated peaks below the last measured one that match no measured peak."""
    rows = {qm: [] for qm in MEASURED_PEAKS_NM}
    extra = set()
    for j in jobs:
        peaks = get(j.get("summary"), "scattering.peaks") or []
        if not peaks:
            continue
        q = np.array([p["q_nm"] for p in peaks])
        used = set()
        for qm in MEASURED_PEAKS_NM:
            i = int(np.argmin(np.abs(q - qm)))
            rows[qm].append((q[i], peaks[i].get("hkl"), peaks[i]["ratio"]))
            used.add(i)
        for i, p in enumerate(peaks):
            if i not in used and p["q_nm"] < max(MEASURED_PEAKS_NM) * 1.05:
                extra.add((p.get("hkl"), round(p["q_nm"], 3)))
    return rows, sorted(extra, key=lambda t: t[1])


def _sample(jobs):
    return f"S(q) of {len(jobs)} run(s); peak positions are set by the lattice, no statistical error"


def peaks_match(context, tolerance):
    jobs = context.get("crystal_jobs", [])
    rows, extra = matched_peaks(jobs)
    test = f"each within {100 * tolerance:g} % of a peak of our S(q) (a ↦ {MEASURED_LATTICE_NM} nm)"
    if not any(rows.values()):
        return Verdict(NOT_MEASURED, test="needs S(q) of crystal runs")
    ours = [np.mean([r[0] for r in rows[qm]]) for qm in MEASURED_PEAKS_NM]
    hkl = [rows[qm][0][1] for qm in MEASURED_PEAKS_NM]
    ok = all(abs(o / qm - 1) <= tolerance for o, qm in zip(ours, MEASURED_PEAKS_NM, strict=True))
    value = ", ".join(f"{o:.3f} ({h})" for o, h in zip(ours, hkl, strict=True))
    if extra:
        value += (
            "; also " + ", ".join(f"{h or '?'} at {q}" for h, q in extra) + " (not listed in the experiment)"
        )
    return Verdict(
        AGREE if ok else DISAGREE, value, test, _sample([j for j in jobs if get(j, "summary.scattering")])
    )


def peak_ratios(context, tolerance):
    jobs = context.get("crystal_jobs", [])
    rows, _ = matched_peaks(jobs)
    if not any(rows.values()):
        return Verdict(NOT_MEASURED, test="needs S(q) of crystal runs")
    ratios = [np.mean([r[2] for r in rows[qm]]) for qm in MEASURED_PEAKS_NM]
    ok = all(abs(r / t - 1) <= tolerance for r, t in zip(ratios, LISTED_RATIOS, strict=True))
    return Verdict(
        AGREE if ok else DISAGREE,
        " : ".join(f"{r:.3f}" for r in ratios),
        f"ratios within {100 * tolerance:g} % (independent of the nm mapping)",
        _sample([j for j in jobs if get(j, "summary.scattering")]),
    )


def _fwhm_estimate(jobs):
    """Pooled in-plane FWHM (mean over runs) with the block-averaged error of the per-frame FWHM."""
    values = [get(j.get("summary"), "orientation.inplane_fwhm_pooled_deg") for j in jobs]
    values = [v for v in values if v is not None]
    runs = []
    for j in jobs:
        s = (j.get("series") or {}).get("inplane_fwhm")
        if s:
            discard = get(j.get("summary"), "discard") or 0.0
            runs.append(block_average(s[int(math.floor(discard * len(s))) :]))
    return (float(np.mean(values)) if values else float("nan")), combine_replicas(runs)


def inplane_below_limit(context, limit_deg, error_deg):
    groups = context.get("groups", {})
    bound = limit_deg + error_deg
    found = {b: _fwhm_estimate(js) for b, js in groups.items() if math.isfinite(b)}
    found = {b: v for b, v in found.items() if math.isfinite(v[0])}
    if not found:
        return Verdict(NOT_MEASURED, test="needs orientation data of crystal runs")
    sides = [compare(v, e.sem, bound, e.converged) for v, e in found.values()]
    verdict = DISAGREE if "above" in sides else AGREE if all(s == "below" for s in sides) else INSUFFICIENT
    value = "; ".join(f"βε={b:g}: {fmt(v, 1)} ± {fmt(e.sem, 2)}°" for b, (v, e) in found.items())
    return Verdict(
        verdict,
        value,
        f"our in-plane FWHM < {bound:.1f}° (ED value + its error) at every βε, at {Z:g} standard errors",
        describe_sample(*(e for _, e in found.values())),
    )


def _point_label(key):
    well, phi, beta, n, _, vmmc = key
    return (
        ", ".join(f"{name} {v:g}" for name, v in (("λ", well), ("φ", phi), ("βε", beta)) if v is not None)
        + (f", N {n}" if n else "")
        + (f", {moves_text(vmmc)}" if vmmc else "")
    )


def _needs_fluid_runs(context, what="runs of unit cubes started from a fluid"):
    """Not measured: no unit-cube fluid runs; names the other particles' fluid runs, which the
    report shows in their own sections (seed 000's claims are tested on unit cubes only)."""
    others = sorted(context.get("shaped_fluid_jobs") or {})
    extra = f" (runs of {', '.join(others)} from a fluid: their own report section)" if others else ""
    return Verdict(NOT_MEASURED, test=f"needs {what}{extra}")


def clusters_grow(context, fraction, shown=3):
    """Largest SC cluster over N at the end of each run, averaged over the replicas of a state
    point (λ, φ, βε, N and protocol: nucleation_report.state_key); state points are never
    pooled (a scan mixes fluids that nucleate with ones that cannot)."""
    fluid = context.get("fluid_jobs", [])
    if not fluid:
        return _needs_fluid_runs(context)
    points = {}
    for j in fluid:
        n, big = get(j.get("summary"), "N"), get(j.get("summary"), "clusters.largest_final")
        if n and big is not None:  # grouped as the report's state diagram groups them
            points.setdefault(state_key(run_row(j)), []).append(big / n)
    if not points:
        return Verdict(NOT_MEASURED, test="needs cluster data of fluid runs")
    means = {k: float(np.mean(v)) for k, v in points.items()}
    grown = [k for k in means if means[k] >= fraction]
    best = sorted(means, key=means.get, reverse=True)[:shown]
    value = f"{len(grown)} of {len(points)} state point(s); largest: " + "; ".join(
        f"{_point_label(k)}: {fmt(means[k])} (n={len(points[k])})" for k in best
    )
    return Verdict(
        AGREE if grown else DISAGREE,
        value,
        f"largest SC cluster ≥ {100 * fraction:g} % of N at the end of the runs of some state point "
        "(replica mean)",
        f"{len(fluid)} run(s), last frame of each",
    )


def _nonspanning(job):
    """The largest non-spanning crystallite of a run's last frame (None if it has none).

    Summaries from before `nonspanning_final` existed fall back to the largest cluster when it
    does not span the box."""
    clusters = get(job.get("summary"), "clusters") or {}
    if "nonspanning_final" in clusters:
        return clusters["nonspanning_final"]
    first = (clusters.get("largest_shapes_final") or [{}])[0]
    if first.get("cuboidality") is None or first.get("percolating"):
        return None
    return {"size": first["size"], "shape": first}


def clusters_cuboidal(context, cuboidality, min_size):
    fluid = context.get("fluid_jobs", [])
    if not fluid:
        return _needs_fluid_runs(context)
    values, sizes, on_sites = [], [], []
    for j in fluid:
        ns = _nonspanning(j)
        sizes.append(ns["size"] if ns else 0)
        if ns and ns["size"] >= min_size:
            values.append(sp_cuboidality(ns))
            on_sites.append(get(ns, "supraparticle.site_fraction"))
    test = (
        f"cuboidality (cubes / product of the extents in lattice sites) of the largest non-spanning "
        f"crystallite ≥ {cuboidality} (a box 1; a ball of 120-1000 cubes 0.36-0.58)"
    )
    if not values:
        return Verdict(
            NOT_MEASURED,
            f"largest non-spanning crystallite: {', '.join(map(str, sizes))} cubes",
            f"needs a crystallite of ≥ {min_size} cubes that does not wrap the box (a box-spanning "
            "crystal has no faces of its own)",
        )
    s = replica_mean_sem(values)
    verdict = AGREE if s["mean"] >= cuboidality else DISAGREE
    err = f" ± {fmt(s['sem'])}" if math.isfinite(s["sem"]) else ""
    sample = f"{len(values)} of {len(fluid)} run(s) with a crystallite ≥ {min_size} (last frame)"
    return Verdict(
        verdict,
        f"{fmt(s['mean'])}{err} (n={s['n']}; sizes {', '.join(map(str, sizes))})"
        + _per_crystallite(values, on_sites, cuboidality),
        test,
        sample + ("; one crystallite, no error bar" if len(values) == 1 else ""),
    )


def _per_crystallite(values, on_sites, cuboidality):
    """'; k of n ≥ threshold', and how many crystallites one lattice does not fit (fewer than
    ON_ONE_LATTICE of their cubes near its sites: grains turned against each other, or a bent
    crystallite), whose cuboidality in sites reads low whatever their outline.  Descriptive: the
    verdict reads the mean."""
    if len(values) < 2:
        return ""
    text = f"; {sum(v >= cuboidality for v in values)} of {len(values)} ≥ {cuboidality}"
    off = sum(f is not None and f < ON_ONE_LATTICE for f in on_sites)
    if off:
        text += f"; {off} {_OFF_LATTICE}"
    return text


def _fraction(pairs):
    """Pooled vacancy fraction of (empty, sites) pairs, one per SP, and its error: the larger of
    the Poisson error (at least one count, so 0 of n is not exact) and the spread between SPs
    (the ratio estimator's standard error), since SPs that grew differently differ by more than
    counting noise."""
    pairs = [(k, n) for k, n in pairs if n > 0]
    k_all, n_all = sum(k for k, _ in pairs), sum(n for _, n in pairs)
    f = k_all / n_all
    err = math.sqrt(max(k_all, 1)) / n_all
    m = len(pairs)
    if m > 1:
        spread = sum((k - f * n) ** 2 for k, n in pairs) * m / (m - 1)
        err = max(err, math.sqrt(spread) / n_all)
    return f, err


def late_vacancies(jobs, tail=0.25):
    """Vacancies of the largest SP pooled over the last `tail` of each run's frames (the
    clusters.SP_SERIES counts): {"bulk"|"surface": (empty, sites)} and the frames pooled, or None
    without such series.  A steadier figure than one frame's; frames correlate, so no error."""
    keys = ("bulk", "surface")
    totals, frames = dict.fromkeys(keys, (0, 0)), 0
    for job in jobs:
        series = job.get("series") or {}
        if any(f"largest_{kind}_sites" not in series for kind in keys):
            continue
        n = len(series["largest_bulk_sites"])
        late = range(n - max(1, math.ceil(tail * n)), n)
        for i in late:
            if series["largest_bulk_sites"][i] is None:
                continue  # no non-spanning crystallite in that frame
            frames += 1
            for kind in keys:
                k, m = totals[kind]
                totals[kind] = (
                    k + series[f"largest_{kind}_vacancies"][i],
                    m + series[f"largest_{kind}_sites"][i],
                )
    return (totals, frames) if frames else None


def _late_text(jobs):
    late = late_vacancies(jobs)
    if late is None:
        return ""
    (kb, nb), (ks, ns) = late[0]["bulk"], late[0]["surface"]
    share = [fmt(100 * k / n, 1) if n else "n/a" for k, n in ((kb, nb), (ks, ns))]
    return f"; last quarter of the frames ({late[1]} pooled): bulk {share[0]} %, surface {share[1]} %"


def _counts(sps, kind):
    return [(sp[f"{kind}_vacancies"], sp[f"{kind}_sites"]) for sp in sps]


def _totals(sps, kind):
    """(empty, sites) summed over SPs."""
    counts = _counts(sps, kind)
    return sum(k for k, _ in counts), sum(n for _, n in counts)


def _excluded_text(off):
    """'; not pooled: k SP(s) not on one lattice (...)': the bond walk's holes there may be where
    a bent or multi-grain crystallite leaves gaps, so their count without a lattice is shown
    (analysis.local_sites; the bond walk's for summaries from before it was measured)."""
    if not off:
        return ""
    text = f"; not pooled: {len(off)} SP(s) {_OFF_LATTICE}"
    free = [sp["lattice_free"] for sp in off if sp.get("lattice_free")]
    counted, label = (free, ", counted without a lattice:") if len(free) == len(off) else (off, ",")
    (kb, nb), (ks, ns) = _totals(counted, "bulk"), _totals(counted, "surface")
    share = [f" ({fmt(100 * k / n, 1)} %)" if n else "" for k, n in ((kb, nb), (ks, ns))]
    return f"{text}{label} bulk {kb}/{nb}{share[0]}, surface {ks}/{ns}{share[1]}"


def sp_vacancies(context, bulk, surface, min_size=MIN_SP_CUBES):
    """Bulk and surface vacancy fractions pooled over the runs' largest non-spanning SPs of at
    least `min_size` cubes (N2's threshold; the experiments' SPs hold hundreds) that one lattice
    fits (the experiment counts holes in crystalline SPs; in a bent or multi-grain crystallite a
    hole is where the site mapping breaks down).  The others are shown apart."""
    jobs = context.get("fluid_jobs", [])
    found = [(job, sp) for job in jobs if (sp := mapped_sp(job))]
    mapped = [(job, sp) for job, sp in found if large_enough(sp, min_size)]
    small = len(found) - len(mapped)
    smaller = f"; {small} smaller SP(s) not counted" if small else ""
    if not mapped:
        what = f"a crystallite (SP) of ≥ {min_size} unit cubes that does not wrap the box"
        return _needs_fluid_runs(context, what + (f"; {small} smaller" if small else ""))
    sps = [sp for _, sp in mapped if on_one_lattice(sp)]
    off = [sp for _, sp in mapped if not on_one_lattice(sp)]
    # the late-frame evidence skips the runs whose final SP is left out
    left_out = {id(job) for job, sp in found if not (large_enough(sp, min_size) and on_one_lattice(sp))}
    expected = f"{100 * bulk:g} % bulk, {100 * surface[0]:g} ± {100 * surface[1]:g} % surface"
    test = f"within {Z:g} errors of {expected}"
    if not sps:
        return Verdict(
            NOT_MEASURED,
            _excluded_text(off)[2:],
            f"needs an SP on one lattice; {test}",
            f"{len(off)} SP(s), last frame{smaller}",
        )
    (kb, nb), (ks, ns) = _totals(sps, "bulk"), _totals(sps, "surface")
    value = f"bulk {kb}/{nb}, surface {ks}/{ns} sites empty"
    late_jobs = [j for j in jobs if id(j) not in left_out]
    evidence = (
        f"{len(sps)} SP(s) of ≥ {min_size} cubes, last frame, sites mapped along bonds; vacancies left "
        f"by growth in a fixed-N box{smaller}" + _late_text(late_jobs)
    )
    if ns == 0 or nb * bulk < 3:  # fewer than 3 expected bulk vacancies: no resolution at 3.3 %
        return Verdict(
            TOO_SMALL,
            value + _excluded_text(off),
            test + f"; a bulk of {nb} sites expects {nb * bulk:.1f}",
            evidence,
        )
    fb, eb = _fraction(_counts(sps, "bulk"))
    fs, es = _fraction(_counts(sps, "surface"))
    sides = [compare(fb, eb, bulk), compare(fs, math.hypot(es, surface[1]), surface[0])]
    verdict = AGREE if sides == [None, None] else DISAGREE
    value += f" ({fmt(100 * fb, 1)} ± {fmt(100 * eb, 1)} %, {fmt(100 * fs, 1)} ± {fmt(100 * es, 1)} %)"
    return Verdict(verdict, value + _excluded_text(off), test, evidence)


TESTS = {
    "peaks_match": peaks_match,
    "peak_ratios": peak_ratios,
    "inplane_below_limit": inplane_below_limit,
    "clusters_grow": clusters_grow,
    "clusters_cuboidal": clusters_cuboidal,
    "sp_vacancies": sp_vacancies,
}
