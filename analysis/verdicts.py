"""Verdict vocabulary and the one comparison rule every test uses.

A difference d with standard error s is compared with a bound b at `Z` standard errors:
d − Z s > b decides "above", d + Z s < b decides "below", anything else is insufficient data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .stats import Estimate

__all__ = [
    "AGREE",
    "DISAGREE",
    "INSUFFICIENT",
    "TOO_SMALL",
    "NOT_MEASURED",
    "VERDICTS",
    "Z",
    "Verdict",
    "compare",
    "describe_sample",
    "fmt",
    "pm",
]

AGREE, DISAGREE = "agree", "disagree"
INSUFFICIENT, TOO_SMALL, NOT_MEASURED = "insufficient data", "too small to tell", "not measured"
VERDICTS = (AGREE, DISAGREE, INSUFFICIENT, TOO_SMALL, NOT_MEASURED)
#: confidence of every comparison, in standard errors
Z = 2.0


@dataclass(frozen=True)
class Verdict:
    """A verdict with our value (and its error), the test behind it and the sample it rests on."""

    verdict: str
    value: str = "—"
    test: str = ""
    evidence: str = ""


def fmt(x, digits=2):
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def pm(mean, sem, digits=2):
    return f"{fmt(mean, digits)} ± {fmt(sem, digits)}"


def describe_sample(*estimates: Estimate) -> str:
    """Replicas, frames and effective samples of the estimates a verdict rests on."""
    parts = []
    for e in estimates:
        flag = "" if e.converged else ", too short for its own error"
        parts.append(f"{e.replicas} run(s), {e.frames} frames, {e.effective:.0f} effective{flag}")
    return "; ".join(dict.fromkeys(parts))


def compare(d, s, bound, converged=True):
    """'above', 'below' or None (undecided) for d ± s against `bound` at Z standard errors."""
    if not converged or not (math.isfinite(d) and math.isfinite(s)):
        return None
    if d - Z * s > bound:
        return "above"
    if d + Z * s < bound:
        return "below"
    return None
