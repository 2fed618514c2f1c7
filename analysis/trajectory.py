"""Analyse one cubemc GSD trajectory: per-frame series plus summary numbers (JSON-ready).

    python -m analysis.trajectory traj.gsd -o summary.json [--orthoslice slices.png]

Frames before `discard` (a fraction of the analysed frames) count as equilibration: they
appear in the series but not in the summary averages.
"""

import argparse
import json
import math

import gsd.hoomd
import numpy as np

from .nucleation import CrystalClusters
from .orientation import cubatic_order, fwhm, inplane_angles, misorientation_angles
from .scattering import (find_peaks, index_sc_peaks, intensity, refine_peaks, structure_factor,
                         to_inverse_nm)
from .scattering import MEASURED_LATTICE_NM
from .stats import time_average
from .vacancy import VacancyTracker, infer_cells

__all__ = ["analyze_trajectory", "read_frames", "to_jsonable", "write_json"]

LOG = "log/cubemc/"


def to_jsonable(obj):
    """numpy -> plain Python, NaN/inf -> None, recursively (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_json(result, path):
    with open(path, "w") as f:
        json.dump(to_jsonable(result), f, indent=1, allow_nan=False)
    return path


def read_frames(path, start=0, stop=None, stride=1):
    """Yield (step, box (3,), positions, orientations) of the selected frames."""
    with gsd.hoomd.open(path, "r") as traj:
        for i in range(len(traj))[start:stop:stride]:
            f = traj[i]
            yield (int(f.configuration.step), np.asarray(f.configuration.box[:3], dtype=float),
                   np.asarray(f.particles.position, dtype=float),
                   np.asarray(f.particles.orientation, dtype=float))


def _read_logs(path, n_frames_total):
    try:
        logs = gsd.hoomd.read_log(path, scalar_only=False)
    except Exception:  # a file without any log chunk
        return {}
    out = {}
    for key, val in logs.items():
        if key.startswith(LOG):
            val = np.asarray(val, dtype=float).reshape(n_frames_total, -1)[:, 0]
            out[key[len(LOG):]] = val
    return out


def _is_crystal(positions, box, n_cells, max_missing=0.05):
    """Crystal start with a few vacancies: N close to the site count and cubes near sites."""
    n_sites = int(np.prod(n_cells))
    missing = n_sites - len(positions)
    if missing < 0 or missing > max(1, max_missing * n_sites):
        return False
    tracker = VacancyTracker(box, n_cells)
    tracker.compute(positions)
    return tracker.lattice.displaced.mean() < 0.3


def analyze_trajectory(path, start=0, stop=None, stride=1, lattice="auto", n_cells=None,
                       displacement_fraction=0.25, discard=0.2, clusters=True,
                       scattering_frames=3, k_max=14.0, sq_bins=200, a_nm=MEASURED_LATTICE_NM,
                       orthoslice=None, seed=0, cluster_kwargs=None):
    """Per-frame series and summary of one trajectory.

    Args:
        lattice: True for a crystal run (vacancy analysis against the SC lattice, orientation
            measured from the box axes), False for a fluid/nucleation run, "auto" to decide
            from the first frame (N close to n^3 and cubes on their sites).
        discard: leading fraction of analysed frames left out of summary averages.
        scattering_frames: S(q) averaged over this many frames spread over the production
            part (0 to skip).
        orthoslice: file name for orthoslices of the last frame (crystal runs only).
    Returns {"series": {...}, "summary": {...}} of plain Python types (NaN -> None), ready
    for json.dump / write_json.
    """
    with gsd.hoomd.open(path, "r") as traj:
        n_total = len(traj)
    frame_ids = list(range(n_total))[start:stop:stride]
    logs = _read_logs(path, n_total)
    series = {"frame": frame_ids, "step": []}
    for key in ("energy", "bonds"):
        if key in logs:
            series[key] = [float(logs[key][i]) for i in frame_ids]
    n_frames = len(frame_ids)
    first_prod = int(math.floor(discard * n_frames))
    sq_at = set()
    if scattering_frames and n_frames:
        sq_at = set(np.unique(np.linspace(first_prod, n_frames - 1, scattering_frames).round().astype(int)))

    tracker = None
    cc = CrystalClusters(**(cluster_kwargs or {})) if clusters else None
    mis_pool, inp_pool, inp3_pool = [], [], []
    sq_sum, sq_k, n_sq = None, None, 0
    last = None
    for t, (step, box, pos, q) in enumerate(read_frames(path, start, stop, stride)):
        series["step"].append(step)
        if t == 0:
            if n_cells is None:
                n_cells = infer_cells(len(pos), box)
            if lattice == "auto":
                lattice = _is_crystal(pos, box, n_cells)
            if lattice:
                tracker = VacancyTracker(box, n_cells, displacement_fraction=displacement_fraction)
                reference = None  # the crystal was built aligned with the box
            else:
                reference = cubatic_order(q, seed=seed)[1]
        if tracker is not None:
            tracker.compute(pos)
        order, _ = cubatic_order(q, seed=seed)
        mis = misorientation_angles(q, reference)
        inp = inplane_angles(q, (0, 1))
        series.setdefault("cubatic", []).append(order)
        series.setdefault("misorientation_mean", []).append(float(mis.mean()))
        series.setdefault("misorientation_fwhm", []).append(fwhm(mis, "kde"))
        series.setdefault("inplane_fwhm", []).append(fwhm(inp, "gaussian"))
        if t >= first_prod:
            mis_pool.append(mis)
            inp_pool.append(inp)
            inp3_pool += [inp, inplane_angles(q, (0, 2)), inplane_angles(q, (1, 2))]
        if cc is not None:
            cc.compute(box, pos, q)
            shape = cc.shapes(max_clusters=1)
            series.setdefault("crystalline_fraction", []).append(cc.crystalline_fraction)
            series.setdefault("largest_cluster", []).append(cc.largest_cluster_size)
            series.setdefault("n_clusters", []).append(cc.num_clusters)
            series.setdefault("largest_cuboidality", []).append(shape[0]["cuboidality"] if shape else None)
            series.setdefault("mean_q4", []).append(float(cc.q4.mean()))
        if t in sq_at:
            k, S = structure_factor(pos, box, k_max=k_max, bins=sq_bins)
            sq_k, sq_pos, sq_box = k, pos, box
            sq_sum = S if sq_sum is None else sq_sum + S
            n_sq += 1
        last = (step, box, pos, q)
    if tracker is not None:
        series.update(tracker.series)

    summary = {"n_frames": n_frames, "discard": discard, "lattice": bool(lattice)}
    if last is not None:
        step, box, pos, q = last
        summary.update(N=len(pos), box=box.tolist(), first_step=series["step"][0], last_step=step)
        for key in ("beta_epsilon", "well_range"):
            if key in logs:
                summary[key] = float(logs[key][frame_ids[-1]])
    if "energy" in series and last is not None:
        summary["energy_per_particle"] = time_average(series["energy"], discard) / summary["N"]
    if "bonds" in series and last is not None:
        summary["bonds_per_particle"] = time_average(series["bonds"], discard) / summary["N"]

    if tracker is not None and n_frames:
        rl = np.asarray(series["row_length"][first_prod:], dtype=float)
        hops = int(sum(series["hops"][first_prod + 1:]))
        steps = series["step"]
        sweeps = steps[-1] - steps[first_prod] if n_frames > 1 else 0
        summary["vacancy"] = {
            "n_cells": [int(x) for x in tracker.lattice.n_cells],
            "lattice_constant": float(np.mean(tracker.lattice.a)),
            "displacement_fraction": displacement_fraction,
            "row_length_mean": float(rl.mean()),
            "row_length_p95": float(np.percentile(rl, 95)),
            "row_length_max": int(rl.max()),
            "frac_localised": float(np.mean(rl <= 1)),
            "line_shift_mean": time_average(series["line_shift"], discard),
            "n_displaced_mean": time_average(series["n_displaced"], discard),
            "n_empty_mean": time_average(series["n_empty"], discard),
            "n_double_mean": time_average(series["n_double"], discard),
            "max_displacement_mean": time_average(series["max_displacement"], discard),
            "hops": hops,
            "hops_per_frame": hops / max(1, len(rl) - 1),
            "hops_per_sweep": hops / sweeps if sweeps > 0 else None,
        }
        if orthoslice:
            from .orthoslice import plot_orthoslices

            plot_orthoslices(pos, q, box, lattice=tracker.lattice, outfile=orthoslice,
                             title=f"step {step}")
            summary["orthoslice_png"] = str(orthoslice)
    else:
        summary["vacancy"] = None

    if mis_pool:
        mis = np.concatenate(mis_pool)
        summary["orientation"] = {
            "reference": "lattice" if lattice else "cubatic director",
            "cubatic_mean": time_average(series["cubatic"], discard),
            "misorientation_mean_deg": float(mis.mean()),
            "misorientation_fwhm_deg": fwhm(mis, "kde"),
            "inplane_fwhm_deg": fwhm(np.concatenate(inp_pool), "gaussian"),
            "inplane_fwhm_pooled_deg": fwhm(np.concatenate(inp3_pool), "gaussian"),
        }

    if cc is not None and n_frames:
        shapes = cc.shapes(max_clusters=3)
        summary["clusters"] = {
            "largest_final": int(series["largest_cluster"][-1]),
            "largest_mean": time_average(series["largest_cluster"], discard),
            "crystalline_fraction_final": float(series["crystalline_fraction"][-1]),
            "crystalline_fraction_mean": time_average(series["crystalline_fraction"], discard),
            "n_clusters_final": int(series["n_clusters"][-1]),
            "size_distribution_final": cc.size_distribution,
            "largest_shapes_final": shapes,
            "mean_q4": time_average(series["mean_q4"], discard),
        }

    if n_sq:
        S = sq_sum / n_sq
        I = intensity(sq_k, S)
        # Search above 0.8 x the first SC peak expected at this density; sharpen the positions
        # on the individual k-vectors of the last S(q) frame.
        k_from = 0.8 * 2 * np.pi * (len(sq_pos) / np.prod(sq_box)) ** (1 / 3)
        kp, _ = find_peaks(sq_k, S, k_from=k_from)
        if kp.size:
            kp = refine_peaks(sq_pos, sq_box, kp, sq_k[1] - sq_k[0])
        if lattice:
            a_sim = float(np.mean(tracker.lattice.a))
        else:
            a_sim = float(2 * np.pi / kp[0]) if kp.size else float("nan")
        peaks = []
        for (kk, hkl, dev) in index_sc_peaks(kp, a_sim) if np.isfinite(a_sim) else []:
            i = int(np.argmin(np.abs(sq_k - kk)))
            peaks.append({"k": kk, "q_nm": float(to_inverse_nm(kk, a_sim, a_nm)), "hkl": hkl,
                          "deviation": dev, "ratio": kk / kp[0], "S": float(S[i]), "I": float(I[i])})
        summary["scattering"] = {
            "frames_averaged": n_sq, "a_sim": a_sim, "a_nm": a_nm,
            "k": sq_k, "S": S, "I": I,
            "q_nm": to_inverse_nm(sq_k, a_sim, a_nm) if np.isfinite(a_sim) else None,
            "peaks": peaks,
        }
    return to_jsonable({"series": series, "summary": summary})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trajectory")
    p.add_argument("-o", "--output", default="analysis.json")
    p.add_argument("--lattice", choices=["auto", "yes", "no"], default="auto")
    p.add_argument("--discard", type=float, default=0.2)
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--orthoslice", default=None, help="PNG file for orthoslices of the last frame")
    args = p.parse_args(argv)
    lattice = {"auto": "auto", "yes": True, "no": False}[args.lattice]
    res = analyze_trajectory(args.trajectory, stride=args.stride, lattice=lattice,
                             discard=args.discard, orthoslice=args.orthoslice)
    write_json(res, args.output)
    print(args.output)


if __name__ == "__main__":
    main()
