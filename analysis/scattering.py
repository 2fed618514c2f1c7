"""Small-angle scattering of a cube crystal: S(q), cube form factor P(q), I(q) = P(q) S(q).

Lengths are in units of the cube edge sigma, wave numbers in 1/sigma (physics convention
q = 2 pi / d). `to_inverse_nm` maps them onto the SAXS axis by identifying the simulated
lattice constant with a measured one (default 11.4 nm, the NC-NC distance of seed 000).
I = P S is the decoupling approximation (orientation-averaged P); in the crystal the cubes
are aligned, so relative peak heights are indicative only, positions are exact.
"""

import freud
import numpy as np
from scipy.signal import find_peaks as _find_peaks

from .analyzers import Analyzer
from .geometry import fibonacci_sphere

__all__ = [
    "ScatteringAnalyzer",
    "MEASURED_PEAKS_NM",
    "MEASURED_LATTICE_NM",
    "SC_RATIOS",
    "structure_factor",
    "cube_form_factor",
    "intensity",
    "find_peaks",
    "refine_peaks",
    "peak_ratios",
    "index_sc_peaks",
    "to_inverse_nm",
    "plot_intensity",
]

MEASURED_PEAKS_NM = (0.55, 0.78, 1.1, 1.23)  # SAXS Bragg peaks of supraparticles (seed 000)
MEASURED_LATTICE_NM = 11.4  # NC-NC distance (seed 000)
SC_RATIOS = np.sqrt([1.0, 2.0, 3.0, 4.0, 5.0])  # {100} {110} {111} {200} {210}


def _subset(positions, max_particles, seed):
    """Fixed random subset (a strided one would pick a sublattice and add superlattice peaks)."""
    if max_particles is None or len(positions) <= max_particles:
        return positions
    idx = np.random.default_rng(seed).choice(len(positions), max_particles, replace=False)
    return positions[np.sort(idx)]


def structure_factor(
    positions, box, k_max=14.0, bins=200, k_min=None, max_particles=2000, num_sampled_k_points=0, seed=0
):
    """Direct-sum S(k) (freud StaticStructureFactorDirect) on bins of |k|.

    The cost is (particles) x (k-vectors of the box grid up to k_max), and the grid grows with
    the box. Large systems are therefore cut to a fixed random subset of `max_particles`:
    Bragg peaks keep their positions (their height scales with the subset size, the diffuse
    background stays ~1). freud's `num_sampled_k_points` is passed through but off by
    default: its sample is unseeded and, in a big box, misses most Bragg vectors (an 8000-cube
    crystal sampled with 5000 k-points showed noise, not peaks), so use it for fluids only.
    k_min defaults to half the smallest allowed |k| = 2 pi / L, which drops k = 0. Bins
    without any k-vector are NaN. Returns (k bin centres, S).
    """
    box = np.asarray(box, dtype=float)[:3]
    pos = _subset(np.asarray(positions, dtype=float)[:, :3], max_particles, seed)
    if k_min is None:
        k_min = 0.5 * 2 * np.pi / box.max()
    sf = freud.diffraction.StaticStructureFactorDirect(
        bins=bins, k_max=k_max, k_min=k_min, num_sampled_k_points=num_sampled_k_points
    )
    sf.compute((freud.box.Box(*box), pos.astype(np.float32)))
    return np.asarray(sf.bin_centers, dtype=float), np.asarray(sf.S_k, dtype=float)


def cube_form_factor(q, edge=1.0, n_directions=2000):
    """Orientation-averaged form factor of a cube, normalised so P(0) = 1.

    Average over a Fibonacci sphere of [sinc(qx e/2) sinc(qy e/2) sinc(qz e/2)]^2 with
    sinc(x) = sin(x)/x (np.sinc(x) is sin(pi x)/(pi x), hence the 2 pi).
    """
    q = np.atleast_1d(np.asarray(q, dtype=float))
    n = fibonacci_sphere(n_directions)
    arg = q[:, None, None] * n[None, :, :] * edge / (2 * np.pi)
    amp = np.prod(np.sinc(arg), axis=-1)
    return (amp**2).mean(axis=1)


def intensity(k, S, edge=1.0):
    """I(k) = P(k) S(k) with the orientation-averaged cube form factor."""
    return cube_form_factor(k, edge) * np.asarray(S, dtype=float)


def find_peaks(k, y, rel_height=0.02, log=False, decades=1.0, max_peaks=None, k_from=None):
    """Peak positions of a binned curve, lowest k first.

    NaN bins (no k-vector) are dropped before the search. A peak must stand out by a
    prominence of `rel_height` times the highest point, or, with log=True (for I(q), whose
    form factor spans decades), by `decades` in log10. Only k >= `k_from` is searched (the
    few k-vectors of the lowest bins make them noisy). Returns (k_peaks, heights).
    """
    k = np.asarray(k, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(y) & (k >= (k_from if k_from is not None else -np.inf))
    k, y = k[ok], y[ok]
    if y.size < 3 or y.max() <= 0:
        return np.array([]), np.array([])
    if log:
        z = np.log10(np.clip(y, y.max() * 1e-10, None))
        z = z - z.min()
        prominence = decades
    else:
        z = y
        prominence = rel_height * y.max()
    # Pad so that a maximum in the first/last bin can count as a peak.
    zp = np.concatenate([[z.min()], z, [z.min()]])
    idx, _ = _find_peaks(zp, prominence=prominence)
    idx = idx - 1
    if max_peaks is not None and len(idx) > max_peaks:
        keep = np.sort(np.argsort(y[idx])[::-1][:max_peaks])
        idx = idx[keep]
    return k[idx], y[idx]


def refine_peaks(positions, box, k_peaks, half_width, max_particles=1000, seed=0, chunk=512):
    """Sharpen binned peak positions using the individual k-vectors of the box's grid.

    For every peak, S(k) = |sum_j exp(i k . r_j)|^2 / N is evaluated on all reciprocal-grid
    vectors k = 2 pi n / L with | |k| - k_peak | <= half_width, and the S-weighted mean |k|
    is returned. Bragg vectors carry S ~ N against ~1 for the diffuse rest, so a crystal's
    peak comes out at its exact |G| instead of a bin centre. A fixed random subset of at
    most `max_particles` cubes keeps that contrast and bounds the cost.
    """
    box = np.asarray(box, dtype=float)[:3]
    pos = _subset(np.asarray(positions, dtype=float)[:, :3], max_particles, seed)
    out = []
    for kp in np.asarray(k_peaks, dtype=float):
        kmax = kp + half_width
        nmax = np.floor(kmax * box / (2 * np.pi)).astype(int)
        grids = np.meshgrid(*(np.arange(-m, m + 1) for m in nmax), indexing="ij")
        kv = np.stack(grids, -1).reshape(-1, 3) * (2 * np.pi / box)
        kn = np.linalg.norm(kv, axis=1)
        kv, kn = kv[np.abs(kn - kp) <= half_width], kn[np.abs(kn - kp) <= half_width]
        if kn.size == 0:
            out.append(float(kp))
            continue
        S = np.empty(kn.size)
        for i in range(0, kn.size, chunk):
            amp = np.exp(1j * pos @ kv[i : i + chunk].T).sum(axis=0)
            S[i : i + chunk] = np.abs(amp) ** 2 / len(pos)
        out.append(float((S * kn).sum() / S.sum()))
    return np.array(out)


def peak_ratios(k_peaks):
    """Peak positions divided by the first one."""
    k_peaks = np.asarray(k_peaks, dtype=float)
    return k_peaks / k_peaks[0] if k_peaks.size else k_peaks


def sc_reflection(s):
    """Miller indices "hkl" (h >= k >= l >= 0) with h^2 + k^2 + l^2 = s, or None if there are none
    (s = 7, 15, 23, 28, ...: not a sum of three squares, so no simple-cubic reflection)."""
    for h in range(int(np.sqrt(s)), -1, -1):
        for k in range(min(h, int(np.sqrt(max(s - h * h, 0)))), -1, -1):
            rest = s - h * h - k * k
            el = int(round(np.sqrt(rest))) if rest >= 0 else -1
            if 0 <= el <= k and el * el == rest:
                return f"{h}{k}{el}"
    return None


def index_sc_peaks(k_peaks, a, tol=0.03):
    """Assign peaks to SC reflections: nearest sqrt(h^2+k^2+l^2) 2 pi / a within `tol`.

    Returns a list of (k, "hkl" or None, relative deviation).
    """
    out = []
    for kp in np.asarray(k_peaks, dtype=float):
        m = (kp * a / (2 * np.pi)) ** 2
        near = [q for q in range(max(1, int(m) - 3), int(m) + 5) if sc_reflection(q)]
        s = min(near, key=lambda q: abs(np.sqrt(q) - np.sqrt(m)))
        dev = kp / (2 * np.pi / a * np.sqrt(s)) - 1
        out.append((float(kp), sc_reflection(s) if abs(dev) <= tol else None, float(dev)))
    return out


def to_inverse_nm(k, a_sim, a_nm=MEASURED_LATTICE_NM):
    """Map k (1/sigma) onto nm^-1 by setting the simulated lattice constant a_sim = a_nm."""
    return np.asarray(k, dtype=float) * a_sim / a_nm


def plot_intensity(k_nm, intensity_q, outfile, measured=MEASURED_PEAKS_NM, S=None, label="simulation"):
    """I(q) on the SAXS axis (nm^-1) with the measured Bragg peaks as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    k_nm = np.asarray(k_nm, dtype=float)
    ok = np.isfinite(intensity_q)
    ax.semilogy(
        k_nm[ok], np.clip(np.asarray(intensity_q)[ok], 1e-6, None), "-", lw=1.2, label=f"I(q) {label}"
    )
    if S is not None:
        ok = np.isfinite(S)
        ax.semilogy(k_nm[ok], np.clip(np.asarray(S)[ok], 1e-6, None), "-", lw=0.8, alpha=0.5, label="S(q)")
    for i, qm in enumerate(measured):
        ax.axvline(qm, color="C3", ls="--", lw=0.8, label="measured (seed 000)" if i == 0 else None)
    ax.set_xlabel(r"$q$ (nm$^{-1}$)")
    ax.set_ylabel("intensity (arb. units)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(outfile, dpi=120)
    plt.close(fig)
    return outfile


class ScatteringAnalyzer(Analyzer):
    """S(q) averaged over chosen frames, I(q) = P(q) S(q), and indexed SC peaks.

    `at` holds the positions (0, 1, ... in the order computed) of the frames to use.
    `lattice_constant` (crystal runs) indexes peaks against the known lattice; without it
    the first peak sets the lattice constant (fluids, growing crystallites).
    """

    section = "scattering"

    def __init__(self, at, k_max=14.0, bins=200, a_nm=None, lattice_constant=None):
        super().__init__(0.0)
        self.at = {int(i) for i in at}
        self.k_max, self.bins = float(k_max), int(bins)
        self.a_nm = MEASURED_LATTICE_NM if a_nm is None else float(a_nm)
        self.lattice_constant = lattice_constant
        self._seen = 0
        self._sum, self._k, self._last, self.n_averaged = None, None, None, 0

    def compute(self, frame):
        if self._seen in self.at:
            k, S = structure_factor(frame.positions, frame.box, k_max=self.k_max, bins=self.bins)
            self._k, self._last = k, frame
            self._sum = S if self._sum is None else self._sum + S
            self.n_averaged += 1
        self._seen += 1
        return self

    @property
    def summary(self):
        if not self.n_averaged:
            return {}
        k, S = self._k, self._sum / self.n_averaged
        i_q = intensity(k, S)
        pos, box = self._last.positions, self._last.box
        # search above 0.8 x the first SC peak expected at this density; sharpen the positions
        # on the individual k-vectors of the last frame used
        k_from = 0.8 * 2 * np.pi * (len(pos) / np.prod(box)) ** (1 / 3)
        kp, _ = find_peaks(k, S, k_from=k_from)
        if kp.size:
            kp = refine_peaks(pos, box, kp, k[1] - k[0])
        a_sim = self.lattice_constant
        if a_sim is None:
            a_sim = float(2 * np.pi / kp[0]) if kp.size else float("nan")
        peaks = []
        for kk, hkl, dev in index_sc_peaks(kp, a_sim) if np.isfinite(a_sim) else []:
            i = int(np.argmin(np.abs(k - kk)))
            peaks.append(
                {
                    "k": kk,
                    "q_nm": float(to_inverse_nm(kk, a_sim, self.a_nm)),
                    "hkl": hkl,
                    "deviation": dev,
                    "ratio": kk / kp[0],
                    "S": float(S[i]),
                    "I": float(i_q[i]),
                }
            )
        return {
            "frames_averaged": self.n_averaged,
            "a_sim": a_sim,
            "a_nm": self.a_nm,
            "k": k,
            "S": S,
            "I": i_q,
            "q_nm": to_inverse_nm(k, a_sim, self.a_nm) if np.isfinite(a_sim) else None,
            "peaks": peaks,
        }
