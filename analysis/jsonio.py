"""Plain-JSON conversion and atomic JSON and text files: the one definition the analysis and the
workflow use."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["to_jsonable", "write_json", "write_text"]


def to_jsonable(value):
    """numpy scalars and arrays, mappings (signac's synced documents too) and sequences to plain
    Python; non-finite floats become None, so the result is strict JSON; other objects become
    their str()."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def write_json(data, path):
    """Write `data` as strict JSON to `path` atomically (temporary file, then rename); returns path."""
    return write_text(json.dumps(to_jsonable(data), indent=1, sort_keys=True, allow_nan=False) + "\n", path)


def write_text(text, path):
    """Write `text` to `path` atomically: a reader (or a crash) never sees half a file; returns path."""
    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return path
