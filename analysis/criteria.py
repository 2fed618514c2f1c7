"""Judge a claim: the registry from test names (as written in `analysis.claims`) to tests."""

from __future__ import annotations

from . import shape_criteria, structure_criteria, vacancy_criteria
from .verdicts import NOT_MEASURED, Verdict

__all__ = ["TESTS", "judge"]

TESTS = {**vacancy_criteria.TESTS, **structure_criteria.TESTS, **shape_criteria.TESTS}


def judge(claim, context) -> Verdict:
    """Verdict of one `analysis.claims.Claim`.

    `context` holds "vacancy_points" ({βε: VacancyPoint} of the claims' family) for the
    vacancy tests, and "groups", "crystal_jobs" and "fluid_jobs" for the others.
    """
    if claim.test is None:
        return Verdict(NOT_MEASURED, test=claim.reason)
    if claim.test not in TESTS:
        raise KeyError(f"claim {claim.id} names an unknown test {claim.test!r}")
    source = context.get("vacancy_points", {}) if claim.test in vacancy_criteria.TESTS else context
    return TESTS[claim.test](source, **claim.parameters)
