"""Crystal-type claims of seeds 002 and 003 (C1, C2), judged on the hard-particle fluid runs of
the crystal-shapes study that froze (analysis.shape_report.crystal_rows: class fractions with
errors, over all runs and over the frozen ones)."""

from __future__ import annotations

from .verdicts import AGREE, DISAGREE, INSUFFICIENT, NOT_MEASURED, Verdict, Z, compare, pm

__all__ = ["TESTS"]


def _rows(context, select):
    return [r for r in context.get("crystal_shapes", []) if select(r["r"])]


def _total(row, keys, frozen):
    """Summed fraction of the classes `keys` and its error: FCC + HCP has its own estimate
    (shape_report.close_packed); one class is its own."""
    if tuple(keys) == ("fcc", "hcp"):
        e = row["frozen_close_packed" if frozen else "close_packed"]
    else:
        (key,) = keys
        e = row["frozen_fractions" if frozen else "fractions"][key]
    return e.mean, e.sem, e.converged


def _judge(rows, mine, others, label):
    """`mine` classes against the other crystal classes, per state point, in its runs that froze
    (each run judged on its own: at least 30 % crystalline, analysis.shape_report.froze; their
    fractions combined as replicas): d = sum(mine) - max(others) above 0 at Z standard errors
    decides.  A run that stayed fluid says nothing about which crystal grows (too short, or below
    freezing), so it is left out, and a state point with no frozen run is undecided, never a
    disagreement."""
    sides, values = [], []
    for row in rows:
        where = f"r={row['r']:g}, φ={row['phi']}: {row['frozen']} of {row['runs']} runs froze"
        if not row["frozen"]:
            f = row["fractions"]
            sides.append(None)
            values.append(
                f"{where} (fluid {pm(f['fluid'].mean, f['fluid'].sem)}, "
                f"{label} {pm(*_total(row, mine, False)[:2])} over all runs)"
            )
            continue
        f = row["frozen_fractions"]
        ours, ours_sem, ours_converged = _total(row, mine, True)
        rival = max(others, key=lambda k: f[k].mean)
        d, s = ours - f[rival].mean, (ours_sem**2 + f[rival].sem ** 2) ** 0.5
        converged = ours_converged and f[rival].converged
        sides.append(compare(d, s, 0.0, converged))
        short = "" if converged else " (too short for its own error)"
        values.append(
            f"{where}: {label} {pm(ours, ours_sem)}, "
            f"{rival} {pm(f[rival].mean, f[rival].sem)}, fluid {pm(f['fluid'].mean, f['fluid'].sem)}{short}"
        )
    verdict = (
        DISAGREE
        if "below" in sides
        else AGREE
        if sides and all(x == "above" for x in sides)
        else INSUFFICIENT
    )
    frozen, runs = sum(r["frozen"] for r in rows), sum(r["runs"] for r in rows)
    sample = f"{frozen} frozen of {runs} run(s), production frames, block-averaged"
    return verdict, "; ".join(values), sample


def sc_when_cubic(context, max_radius):
    rows = _rows(context, lambda r: r <= max_radius)
    test = (
        f"SC fraction above the FCC and HCP fractions at {Z:g} standard errors in runs that froze "
        f"(each run ≥ 30 % crystalline on its own), hard particles with r ≤ {max_radius:g}"
    )
    if not rows:
        return Verdict(NOT_MEASURED, test="needs crystal-shapes runs of (nearly) sharp cubes")
    verdict, value, sample = _judge(rows, ("sc",), ("fcc", "hcp"), "SC")
    return Verdict(verdict, value, test, sample)


def close_packed_when_round(context, min_radius):
    rows = _rows(context, lambda r: r >= min_radius)
    test = (
        f"FCC + HCP fraction above the SC fraction at {Z:g} standard errors in runs that froze "
        f"(each run ≥ 30 % crystalline on its own), hard particles with r ≥ {min_radius:g} "
        "(face-centred orthorhombic is a distorted FCC)"
    )
    if not rows:
        return Verdict(NOT_MEASURED, test="needs crystal-shapes runs of nearly spherical particles")
    verdict, value, sample = _judge(rows, ("fcc", "hcp"), ("sc",), "FCC+HCP")
    return Verdict(verdict, value, test, sample)


TESTS = {"sc_when_cubic": sc_when_cubic, "close_packed_when_round": close_packed_when_round}
