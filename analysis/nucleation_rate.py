"""Nucleation rate from the replicas' induction times (issue 17).

Each run of a state point waits for its first nucleus; if nuclei appear at random at a constant
rate J per unit volume and sweep, the waiting time in a box of volume V is exponential with mean
1 / (J V).  Runs that never nucleate are right-censored at their length: they add their sweeps to
the exposure but no event.  The maximum-likelihood rate is then events / (V * exposure), where the
exposure sums the induction times of the runs that nucleated and the lengths of those that did
not.  The 95 % interval treats the events as Poisson in that exposure (chi-square quantiles with
2n and 2n + 2 degrees of freedom), which also bounds the rate from above when no run nucleated.

The induction time is known only to a frame period (it is the first sampled sweep with a cluster of
>= 50 cubes) and includes the growth from the critical nucleus to 50 cubes, so the rate is that of
reaching 50 cubes: an underestimate of the nucleation rate where that growth is slow.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import chi2

__all__ = ["NucleationRate", "nucleation_rate"]

#: two-sided confidence of the interval
CONFIDENCE = 0.95


@dataclass(frozen=True)
class NucleationRate:
    """Rate of first nucleation per unit volume (sigma^3) and sweep, with its 95 % interval."""

    events: int  # runs that nucleated
    runs: int
    exposure: float  # sweeps waited in all runs together (censored runs: their whole length)
    volume: float  # box volume (sigma^3)
    rate: float  # maximum-likelihood rate (0 when no run nucleated)
    low: float
    high: float

    @property
    def mean_wait(self) -> float | None:
        """Maximum-likelihood mean waiting time in this box (sweeps); None without an event."""
        return self.exposure / self.events if self.events else None

    def text(self) -> str:
        """'2.1e-10 (5e-11–6e-10)' or '< 3e-11' (no run nucleated) per sigma^3 and sweep."""
        if not self.events:
            return f"< {self.high:.1g}"
        return f"{self.rate:.2g} ({self.low:.1g}–{self.high:.1g})"


def nucleation_rate(induction_times, censored_lengths, volume) -> NucleationRate | None:
    """Rate from the induction times (sweeps since the quench) of the runs that nucleated and the
    lengths of those that did not, in boxes of `volume` sigma^3; None without any sweeps."""
    times = [float(t) for t in induction_times]
    lengths = [float(t) for t in censored_lengths]
    exposure = sum(times) + sum(lengths)
    if exposure <= 0 or volume <= 0 or any(t < 0 for t in times + lengths):
        return None
    n, alpha = len(times), 1.0 - CONFIDENCE
    scale = 1.0 / (2.0 * exposure * volume)
    low = chi2.ppf(alpha / 2, 2 * n) * scale if n else 0.0
    high = chi2.ppf(1 - alpha / 2, 2 * n + 2) * scale
    return NucleationRate(n, n + len(lengths), exposure, volume, n / (exposure * volume), low, high)
