"""Crystal-type claims of seeds 002 and 003 (C1, C2), judged on the hard-particle fluid runs of
the crystal-shapes study (analysis.shape_report.crystal_rows: class fractions with errors)."""

from __future__ import annotations

from .verdicts import AGREE, DISAGREE, INSUFFICIENT, NOT_MEASURED, Verdict, Z, compare, pm

__all__ = ["TESTS"]


def _rows(context, select):
    return [r for r in context.get("crystal_shapes", []) if select(r["r"])]


def _judge(rows, mine, others, label):
    """`mine` classes against the other crystal classes, per row that froze (crystal type not
    'fluid': at least 30 % crystalline, analysis.shape_report.crystal_rows): d = sum(mine) -
    max(others) above 0 at Z standard errors decides.  A run that stayed fluid says nothing about
    which crystal grows (too short, or below freezing), so it is undecided, never a disagreement."""
    sides, values = [], []
    for row in rows:
        f = row["fractions"]
        ours = sum(f[k].mean for k in mine)
        ours_sem = sum(f[k].sem ** 2 for k in mine) ** 0.5
        if row["type"] == "fluid":
            sides.append(None)
            values.append(
                f"r={row['r']:g}, φ={row['phi']}: not frozen (fluid {pm(f['fluid'].mean, f['fluid'].sem)}, "
                f"{label} {pm(ours, ours_sem)})"
            )
            continue
        rival = max(others, key=lambda k: f[k].mean)
        d, s = ours - f[rival].mean, (ours_sem**2 + f[rival].sem ** 2) ** 0.5
        converged = all(f[k].converged for k in (*mine, rival))
        sides.append(compare(d, s, 0.0, converged))
        values.append(
            f"r={row['r']:g}, φ={row['phi']}: {label} {pm(ours, ours_sem)}, "
            f"{rival} {pm(f[rival].mean, f[rival].sem)}, fluid {pm(f['fluid'].mean, f['fluid'].sem)}"
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
        f"SC fraction above the FCC and HCP fractions at {Z:g} standard errors in runs that froze "
        f"(≥ 30 % crystalline), hard particles with r ≤ {max_radius:g}"
    )
    if not rows:
        return Verdict(NOT_MEASURED, test="needs crystal-shapes runs of (nearly) sharp cubes")
    verdict, value, sample = _judge(rows, ("sc",), ("fcc", "hcp"), "SC")
    return Verdict(verdict, value, test, sample)


def close_packed_when_round(context, min_radius):
    rows = _rows(context, lambda r: r >= min_radius)
    test = (
        f"FCC + HCP fraction above the SC fraction at {Z:g} standard errors in runs that froze "
        f"(≥ 30 % crystalline), hard particles with r ≥ {min_radius:g} "
        "(face-centred orthorhombic is a distorted FCC)"
    )
    if not rows:
        return Verdict(NOT_MEASURED, test="needs crystal-shapes runs of nearly spherical particles")
    verdict, value, sample = _judge(rows, ("fcc", "hcp"), ("sc",), "FCC+HCP")
    return Verdict(verdict, value, test, sample)


TESTS = {"sc_when_cubic": sc_when_cubic, "close_packed_when_round": close_packed_when_round}
