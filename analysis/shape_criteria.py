"""Crystal-type claims of seeds 002 and 003 (C1, C2), judged on the hard-particle fluid runs of
the crystal-shapes study (analysis.shape_report.crystal_rows: class fractions with errors)."""

from __future__ import annotations

from .verdicts import AGREE, DISAGREE, INSUFFICIENT, NOT_MEASURED, Verdict, Z, compare, pm

__all__ = ["TESTS"]


def _rows(context, select):
    return [r for r in context.get("crystal_shapes", []) if select(r["r"])]


def _judge(rows, mine, others, label):
    """`mine` classes against the others, per row: d = sum(mine) - max(others) above 0 at Z
    standard errors and sum(mine) above `min_fraction` decide agreement."""
    sides, values = [], []
    for row in rows:
        f = row["fractions"]
        ours = sum(f[k].mean for k in mine)
        ours_sem = sum(f[k].sem ** 2 for k in mine) ** 0.5
        rival = max(others, key=lambda k: f[k].mean)
        d, s = ours - f[rival].mean, (ours_sem**2 + f[rival].sem ** 2) ** 0.5
        converged = all(f[k].converged for k in (*mine, rival))
        sides.append(compare(d, s, 0.0, converged))
        values.append(
            f"r={row['r']:g}, φ={row['phi']}: {label} {pm(ours, ours_sem)}, "
            f"{rival} {pm(f[rival].mean, f[rival].sem)}"
        )
    verdict = (
        DISAGREE
        if "below" in sides
        else AGREE
        if sides and all(x == "above" for x in sides)
        else INSUFFICIENT
    )
    sample = f"{sum(r['runs'] for r in rows)} run(s), production frames, block-averaged"
    return verdict, "; ".join(values), sample


def sc_when_cubic(context, max_radius):
    rows = _rows(context, lambda r: r <= max_radius)
    test = (
        f"SC fraction above every other class at {Z:g} standard errors, hard particles with "
        f"r ≤ {max_radius:g}"
    )
    if not rows:
        return Verdict(NOT_MEASURED, test="needs crystal-shapes runs of (nearly) sharp cubes")
    verdict, value, sample = _judge(rows, ("sc",), ("fcc", "hcp", "fluid"), "SC")
    return Verdict(verdict, value, test, sample)


def close_packed_when_round(context, min_radius):
    rows = _rows(context, lambda r: r >= min_radius)
    test = (
        f"FCC + HCP fraction above SC and fluid at {Z:g} standard errors, hard particles with "
        f"r ≥ {min_radius:g} "
        "(face-centred orthorhombic is a distorted FCC)"
    )
    if not rows:
        return Verdict(NOT_MEASURED, test="needs crystal-shapes runs of nearly spherical particles")
    verdict, value, sample = _judge(rows, ("fcc", "hcp"), ("sc", "fluid"), "FCC+HCP")
    return Verdict(verdict, value, test, sample)


TESTS = {"sc_when_cubic": sc_when_cubic, "close_packed_when_round": close_packed_when_round}
