"""Vacancy claims (V1, V2, V3, E1): tests measured against the model's own limits.

The measure is the *excess line shift*: the line shift around the vacancy (units of a,
threshold-free) minus the same measure around bulk sites far from it (thermal rattling
alone). Cubes beside a hole rattle into it at any attraction, so its value at the most
attractive βε of the study (βε ≤ −2, the strong-attraction limit) is what "as localised as
it gets" means in this model; the *spread* at βε is the excess line shift there minus its
value in the limit. All bounds are on one ladder of sites: a vacancy shared evenly by m sites
(m odd) has a line shift of (m − 1)/4, and one shared by two sites (a neighbour halfway into
the hole) 0.5, like three.
"""

from __future__ import annotations

import math

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
    pm,
)

__all__ = [
    "LIMIT_MAX_BETA_EPSILON",
    "ON_SITE_BOUND",
    "TESTS",
    "TWO_SITES_LINE_SHIFT",
    "shared_sites_line_shift",
    "spread",
    "strong_limit",
]

#: a study's strong-attraction limit is its most attractive βε, if at most this
LIMIT_MAX_BETA_EPSILON = -2.0
#: line shift (a) of a vacancy shared by two sites: one neighbour halfway into the hole
TWO_SITES_LINE_SHIFT = 0.5
#: V3/E1: a spread below this is closer to a vacancy on its site (0) than to one shared by two
#: sites. Not the bulk thermal line shift: that floor grows with the number of cubes summed
#: (0.035 a for one cube each way, 0.12 a for four), while a shared vacancy's line shift does not
ON_SITE_BOUND = TWO_SITES_LINE_SHIFT / 2
#: rows longer than half the box in more than this fraction of frames earn a caveat
CUT_ROWS_NOTE = 0.05


def shared_sites_line_shift(sites) -> float:
    """Line shift (units of a) of a vacancy shared evenly by `sites` lattice sites."""
    return (sites - 1) / 4.0


def strong_limit(points):
    """The VacancyPoint of the study's strong-attraction limit, or None."""
    betas = [b for b in points if b <= LIMIT_MAX_BETA_EPSILON and points[b]["excess_line_shift"].known]
    return points[min(betas)] if betas else None


def spread(point, limit):
    """(spread above the limit, its error, converged) of one VacancyPoint."""
    a, b = point["excess_line_shift"], limit["excess_line_shift"]
    return a.mean - b.mean, math.hypot(a.sem, b.sem), a.converged and b.converged


def _find(points, beta):
    for b, p in points.items():
        if abs(b - beta) < 1e-6:
            return p
    return None


def _vacancy_inputs(points, beta, sites=None):
    """(point, limit, None), or (None, None, Verdict) when the data cannot answer: no runs at
    βε (not measured), a box too small for `sites` (too small to tell), no reference limit."""
    point, limit = _find(points, beta), strong_limit(points)
    if point is None:
        return None, None, Verdict(NOT_MEASURED, test=f"needs crystal runs at βε = {beta:g}")
    too_small = None if sites is None else _box_check(point, sites)
    if too_small:
        return None, None, too_small
    if limit is None:
        return (
            None,
            None,
            Verdict(
                INSUFFICIENT,
                test=f"needs a strong-attraction reference run "
                f"(βε ≤ {LIMIT_MAX_BETA_EPSILON:g}) in the same study",
            ),
        )
    return point, limit, None


def _box_check(point, sites):
    """A TOO_SMALL verdict when the box cannot hold a row longer than `sites`, else None.

    A row of more than half the box meets its own periodic image, so a box of n sites per
    edge holds rows of up to n // 2 sites; it must hold more than the number being tested.
    """
    if point.n_cells // 2 > sites:
        return None
    return Verdict(
        TOO_SMALL,
        value=f"box of {point.n_cells} sites per edge holds rows of at most {point.n_cells // 2} sites",
        test=f"needs a box that holds rows longer than {sites} "
        "sites (more than twice as many sites per edge)",
        evidence=describe_sample(point["row_length"]),
    )


def _box_note(point):
    """Caveat for a value measured in a box that cuts the longest rows."""
    cut = point.fraction_of_rows_above(point.n_cells / 2)
    if math.isfinite(cut) and cut > CUT_ROWS_NOTE:
        return f" (rows longer than half the box in {100 * cut:.0f} % of frames: the box caps the spread)"
    return ""


def _spread_verdict(point, limit, sites, want):
    bound = shared_sites_line_shift(sites)
    d, s, ok = spread(point, limit)
    side = compare(d, s, bound, ok)
    verdict = INSUFFICIENT if side is None else (AGREE if side == want else DISAGREE)
    relation = ">" if want == "above" else "<"
    return Verdict(
        verdict,
        value=f"spread {pm(d, s)} a above the βε = {limit.beta_epsilon:g} limit; row length "
        f"{pm(point['row_length'].mean, point['row_length'].sem)} sites (limit "
        f"{fmt(limit['row_length'].mean)}){_box_note(point)}",
        test=f"spread {relation} {bound:g} a (a vacancy shared by {sites} sites) at {Z:g} standard errors",
        evidence=describe_sample(point["excess_line_shift"], limit["excess_line_shift"]),
    )


def spread_at_least(points, beta_epsilon, sites, **_):
    point, limit, early = _vacancy_inputs(points, beta_epsilon, sites)
    return early or _spread_verdict(point, limit, sites, "above")


def spread_at_most(points, beta_epsilon, sites, **_):
    point, limit, early = _vacancy_inputs(points, beta_epsilon, sites)
    return early or _spread_verdict(point, limit, sites, "below")


def _limit_verdict(point, limit):
    """Is `point` as localised as the limit, i.e. its spread closer to a vacancy on its site than
    to one shared by two sites? The bulk thermal line shift is shown beside it."""
    d, s, ok = spread(point, limit)
    bulk = point["bulk_line_shift"]
    side = compare(d, s, ON_SITE_BOUND, ok)
    verdict = {None: INSUFFICIENT, "below": AGREE, "above": DISAGREE}[side]
    loc, loc_limit = point["localised"], limit["localised"]
    return Verdict(
        verdict,
        value=f"spread {pm(d, s)} a above the βε = {limit.beta_epsilon:g} limit (bulk thermal line "
        f"shift {fmt(bulk.mean)} a); vacancy on one site in {pm(loc.mean, loc.sem)} of frames "
        f"(limit {pm(loc_limit.mean, loc_limit.sem)})",
        test=f"spread < {ON_SITE_BOUND:g} a (halfway to a vacancy shared by two sites) "
        f"at {Z:g} standard errors",
        evidence=describe_sample(point["excess_line_shift"], limit["excess_line_shift"]),
    )


def as_localised_as_limit(points, beta_epsilon, **_):
    point, limit, early = _vacancy_inputs(points, beta_epsilon)
    if early:
        return early
    if point is limit:
        return Verdict(
            INSUFFICIENT,
            test=f"βε = {beta_epsilon:g} is itself the strongest attraction of the study; add βε ≤ −2 runs",
        )
    return _limit_verdict(point, limit)


def attraction_localises(points, **_):
    """Hard cubes clearly not on one site, and some attraction weaker than the limit as localised as it."""
    hard = _find(points, 0.0)
    limit = strong_limit(points)
    if hard is None or limit is None:
        return Verdict(
            NOT_MEASURED if hard is None else INSUFFICIENT,
            test="needs βε = 0 and a strong-attraction reference (βε ≤ −2)",
        )
    d, s, ok = spread(hard, limit)
    hard_side = compare(d, s, ON_SITE_BOUND, ok)
    weaker = sorted((b for b in points if limit.beta_epsilon < b < 0), reverse=True)
    results = {b: _limit_verdict(points[b], limit).verdict for b in weaker}
    localised = [b for b, v in results.items() if v == AGREE]
    value = f"hard cubes: spread {pm(d, s)} a; " + ", ".join(f"βε = {b:g}: {v}" for b, v in results.items())
    if hard_side == "above" and localised:
        verdict, value = AGREE, value + f" → as localised as the limit from βε = {max(localised):g}"
    elif hard_side == "below" or (weaker and all(v == DISAGREE for v in results.values())):
        verdict = DISAGREE
    else:
        verdict = INSUFFICIENT
    return Verdict(
        verdict,
        value=value,
        test=f"βε = 0 spread > {ON_SITE_BOUND:g} a, and some 0 > βε > limit with spread < "
        f"{ON_SITE_BOUND:g} a (each at {Z:g} standard errors)",
        evidence=describe_sample(hard["excess_line_shift"], limit["excess_line_shift"]),
    )


TESTS = {
    "spread_at_least": spread_at_least,
    "spread_at_most": spread_at_most,
    "as_localised_as_limit": as_localised_as_limit,
    "attraction_localises": attraction_localises,
}
