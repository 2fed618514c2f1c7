"""The only place where the workflow calls the ``analysis`` package (top level of the repo).

Two call sites, imported lazily so ``python project.py status`` works without freud:

* :func:`analyse_trajectory` -> ``analysis.trajectory.analyze_trajectory(path, lattice=...,
  n_cells=..., discard=..., orthoslice=...)`` returning ``{"summary": {...}, "series": {...}}``;
* :func:`write_report` -> ``analysis.report.write_report(job_summaries, outdir)``.

If the analysis package changes these names, adjust them here and nowhere else.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Mapping, Sequence

import numpy as np

TRAJECTORY_MODULE = "analysis.trajectory"
TRAJECTORY_FUNCTION = "analyze_trajectory"
REPORT_MODULE = "analysis.report"
REPORT_FUNCTION = "write_report"


def _function(module_name, function_name):
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise RuntimeError(
            f"cannot import {module_name} ({error}); run from the repository root or "
            "install the analysis dependencies (freud-analysis, scipy)"
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise RuntimeError(f"{module_name} has no function {function_name}") from None


def trajectory_options(statepoint: dict, orthoslice: str | None = None) -> dict:
    """Keyword arguments for the trajectory analysis of one job."""
    crystal = statepoint["initial_state"] == "crystal_vacancy"
    options = {
        "lattice": crystal,
        # the production trajectory starts after the burn-in, so no frames are discarded
        "discard": 0.0,
    }
    if crystal:
        options["n_cells"] = int(statepoint["n_lattice"])
        if orthoslice:
            options["orthoslice"] = orthoslice
    return options


def analyse_trajectory(path: str, statepoint: dict, orthoslice: str | None = None) -> dict:
    """Analyse one production trajectory; returns ``{"summary": ..., "series": ...}``."""
    func = _function(TRAJECTORY_MODULE, TRAJECTORY_FUNCTION)
    result = func(path, **trajectory_options(statepoint, orthoslice))
    if not isinstance(result, dict) or "summary" not in result:
        raise RuntimeError(f"{TRAJECTORY_MODULE}.{TRAJECTORY_FUNCTION} returned no 'summary'")
    return to_json(result)


def write_report(job_summaries: list[dict], outdir: str):
    """Cross-job report (figures and tables) into ``outdir``."""
    func = _function(REPORT_MODULE, REPORT_FUNCTION)
    return func(job_summaries, outdir)


def to_json(value):
    """Convert numpy scalars/arrays, signac synced collections and non-finite floats (to None)
    to plain JSON types."""
    if isinstance(value, Mapping):  # also signac's synced job-document dicts
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, np.generic):
        return to_json(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def dump_json(path: str, data) -> None:
    """Write JSON atomically (temporary file + rename)."""
    import os

    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)
