"""Identity and safety checks for the files a run reads and writes.

Every check is a plain function of paths and values (no engine objects), so the command line,
the workflow and the engines' own writers can share them.  A failed check raises
:class:`FileCheckError` (a `cubemc.InputError`) whose one-line message names the file, says what
is wrong and how to recover.  No check writes anything.

A *run* is identified by N, the box, the seed and the model parameters (:class:`RunIdentity`);
a trajectory or checkpoint written by another run must never be trimmed, appended to or replaced.
Folders, disk space and memory are checked in cubemc/capacity.py, re-exported here.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .capacity import (  # noqa: F401  (one module for every file check)
    BASE_MEMORY_BYTES,
    MEMORY_LIMIT_ENV,
    FileCheckError,
    check_free_space,
    check_memory,
    check_writable_directory,
    describe_os_error,
    estimate_memory_bytes,
    estimate_output_bytes,
    format_bytes,
    is_disk_full,
    memory_limit,
    parse_size,
    physical_memory_bytes,
)
from .contract import CHECKPOINT_KEYS, LOG_PREFIX

_ZIP_MAGIC = b"PK\x03\x04"
_GSD_MAGIC = (0x65DF65DF65DF65DF).to_bytes(8, "little")


@dataclass(frozen=True)
class RunIdentity:
    """What identifies a run (N, box, seed, model parameters) and the sweep it has reached.

    ``box=None`` for runs whose box changes (constant pressure): the box is then not compared.
    """

    n: int
    box: tuple[float, float, float] | None
    seed: int
    beta_epsilon: float
    well_range: float
    sweep: int = 0

    def describe(self) -> str:
        """e.g. ``N=999, box 10.77x10.77x10.77, seed 7, beta_epsilon -1, well_range 1.14``."""
        box = "varying" if self.box is None else "x".join(f"{x:.6g}" for x in self.box)
        return (
            f"N={self.n}, box {box}, seed {self.seed}, "
            f"beta_epsilon {self.beta_epsilon:g}, well_range {self.well_range:g}"
        )

    def differences(self, other: RunIdentity) -> list[str]:
        """What differs from ``other`` ("N 64, not 125"); the sweep is not compared.

        Boxes agree to float32 precision (GSD stores float32), parameters to 1e-9.
        """
        out = []
        if other.n != self.n:
            out.append(f"N {other.n}, not {self.n}")
        boxes = (other.box, self.box)
        if None not in boxes and not np.allclose(*boxes, rtol=1e-6, atol=0.0):
            out.append(
                f"box {'x'.join(f'{x:.6g}' for x in other.box)}, not {'x'.join(f'{x:.6g}' for x in self.box)}"
            )
        if other.seed != self.seed:
            out.append(f"seed {other.seed}, not {self.seed}")
        for name in ("beta_epsilon", "well_range"):
            theirs, ours = getattr(other, name), getattr(self, name)
            if not math.isclose(theirs, ours, rel_tol=1e-9, abs_tol=1e-12):
                out.append(f"{name} {theirs:g}, not {ours:g}")
        return out


@dataclass(frozen=True)
class FrameIdentity:
    """Identity of one GSD frame; ``None`` where the frame has no cubemc log of that name."""

    step: int
    n: int
    box: tuple[float, ...]
    seed: int | None
    beta_epsilon: float | None
    well_range: float | None


# --- reading ---------------------------------------------------------------------------------


def file_kind(path) -> str:
    """``"missing"``, ``"directory"``, ``"empty"``, ``"npz"``, ``"gsd"``, ``"json"`` or ``"other"``,
    from the first bytes of the file (never from its name)."""
    if not os.path.lexists(path):
        return "missing"
    if os.path.isdir(path):
        return "directory"
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head:
        return "empty"
    if head.startswith(_ZIP_MAGIC):
        return "npz"
    if head == _GSD_MAGIC:
        return "gsd"
    if head.lstrip()[:1] in (b"{", b"["):
        return "json"
    return "other"


def read_checkpoint_identity(path, *, hint: str = "") -> RunIdentity:
    """The run a checkpoint (.npz) belongs to, after checking it is a complete, readable one.

    Reads every array, so a damaged file (bad CRC, truncated) is found here rather than by the
    engine halfway through a run.
    """
    kind = file_kind(path)
    if kind == "missing":
        raise FileCheckError(path, "does not exist", hint)
    if kind != "npz":
        raise FileCheckError(path, f"is not a cubemc checkpoint (it is {_kind_words(kind)})", hint)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as err:  # zipfile, zlib and numpy raise several types for damaged files
        raise FileCheckError(path, f"is damaged ({type(err).__name__}: {err})", hint) from None
    missing = [key for key in CHECKPOINT_KEYS if key not in arrays]
    if missing:
        raise FileCheckError(path, f"is not a cubemc checkpoint (it lacks {', '.join(missing)})", hint)
    try:
        return _identity_of_arrays(arrays)
    except (TypeError, ValueError) as err:
        raise FileCheckError(path, f"is damaged ({err})", hint) from None


def _identity_of_arrays(arrays: Mapping[str, np.ndarray]) -> RunIdentity:
    positions = np.asarray(arrays["positions"])
    box = np.asarray(arrays["box"], np.float64).reshape(-1)
    if positions.ndim != 2 or positions.shape[1] != 3 or box.shape != (3,):
        raise ValueError(f"positions of shape {positions.shape} and box of shape {box.shape}")
    if np.asarray(arrays["orientations"]).shape != (positions.shape[0], 4):
        raise ValueError("orientations do not match the positions")
    sweep = int(arrays["sweep"])
    if sweep < 0:
        raise ValueError(f"negative sweep {sweep}")
    return RunIdentity(
        n=int(positions.shape[0]),
        box=tuple(float(x) for x in box),
        seed=int(arrays["seed"]),
        beta_epsilon=float(arrays["beta_epsilon"]),
        well_range=float(arrays["well_range"]),
        sweep=sweep,
    )


def read_trajectory_frames(path, *, hint: str = "") -> list[FrameIdentity]:
    """Step, N, box and cubemc logs of every frame of a GSD file (small chunks only)."""
    import gsd.fl

    kind = file_kind(path)
    if kind not in ("gsd", "missing"):
        raise FileCheckError(path, f"is not a GSD file (it is {_kind_words(kind)})", hint)
    try:
        with gsd.fl.open(os.fspath(path), "r") as handle:
            if handle.schema != "hoomd":
                raise FileCheckError(
                    path, f"is a GSD file of schema {handle.schema!r}, not a trajectory", hint
                )
            return [_frame_identity(handle, k) for k in range(handle.nframes)]
    except FileCheckError:
        raise
    except Exception as err:  # gsd raises OSError, RuntimeError, ValueError for damaged files
        problem = "does not exist" if kind == "missing" else "is damaged"
        raise FileCheckError(path, f"{problem} ({type(err).__name__}: {err})", hint) from None


def _kind_words(kind: str) -> str:
    return {
        "missing": "missing",
        "directory": "a directory",
        "empty": "an empty file",
        "npz": "a .npz archive",
        "gsd": "a GSD trajectory",
        "json": "a JSON file",
    }.get(kind, "of another format")


def _chunk(handle, frame: int, name: str):
    """A chunk of `frame`, or of frame 0 where gsd left it out (unchanged since frame 0)."""
    for k in (frame, 0):
        if handle.chunk_exists(k, name):
            return handle.read_chunk(k, name)
    return None


def _frame_identity(handle, frame: int) -> FrameIdentity:
    def scalar(name, cast):
        value = _chunk(handle, frame, name)
        return None if value is None or value.size == 0 else cast(value.reshape(-1)[0])

    box = _chunk(handle, frame, "configuration/box")
    return FrameIdentity(
        step=scalar("configuration/step", int) or 0,
        n=scalar("particles/N", int) or 0,
        box=tuple(float(x) for x in (box if box is not None else (1, 1, 1, 0, 0, 0))),
        seed=scalar(f"log/{LOG_PREFIX}seed", int),
        beta_epsilon=scalar(f"log/{LOG_PREFIX}beta_epsilon", float),
        well_range=scalar(f"log/{LOG_PREFIX}well_range", float),
    )


def check_checkpoint_quickly(path, *, hint: str = "") -> None:
    """A cheap test (the zip directory and the names of the arrays, no data) for status
    displays; read_checkpoint_identity reads and checks everything."""
    import zipfile

    kind = file_kind(path)
    if kind != "npz":
        raise FileCheckError(path, f"is not a cubemc checkpoint (it is {_kind_words(kind)})", hint)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise FileCheckError(path, f"is damaged ({type(err).__name__}: {err})", hint) from None
    missing = [key for key in CHECKPOINT_KEYS if f"{key}.npy" not in names]
    if missing:
        raise FileCheckError(path, f"is not a cubemc checkpoint (it lacks {', '.join(missing)})", hint)


def check_gsd_quickly(path, *, hint: str = "") -> int:
    """A cheap test (header and index) that `path` is a GSD file with frames; their number."""
    import gsd.fl

    kind = file_kind(path)
    if kind != "gsd":
        raise FileCheckError(path, f"is not a GSD file (it is {_kind_words(kind)})", hint)
    try:
        with gsd.fl.open(os.fspath(path), "r") as handle:
            count = handle.nframes
    except Exception as err:  # gsd raises several types for damaged files
        raise FileCheckError(path, f"is damaged ({type(err).__name__}: {err})", hint) from None
    if count == 0:
        raise FileCheckError(path, "holds no frames", hint)
    return count


def read_json_document(path, *, what: str = "JSON document", hint: str = "") -> dict:
    """A JSON object from ``path``; FileCheckError when missing, unreadable or not an object."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise FileCheckError(path, f"({what}) does not exist", hint) from None
    except (OSError, ValueError) as err:
        raise FileCheckError(path, f"({what}) is damaged ({type(err).__name__}: {err})", hint) from None
    if not isinstance(data, dict):
        raise FileCheckError(path, f"({what}) is damaged (it holds no JSON object)", hint)
    return data


# --- trajectories and checkpoints of one run ---------------------------------------------------


def expected_frame_steps(first: int, last: int, period: int) -> list[int]:
    """Sweeps in [first, last] at which a run writes frames (the multiples of `period`)."""
    start = -(-first // period) * period
    return list(range(start, last + 1, period))


def check_frame_identities(path, frames, run: RunIdentity, seed_logged: bool, hint: str):
    """Refuse frames (read_trajectory_frames) of a run other than `run`, or out of order."""
    previous = None
    for k, frame in enumerate(frames):
        if frame.beta_epsilon is None or frame.well_range is None:
            raise FileCheckError(
                path,
                f"was not written by cubemc (frame {k} has no "
                f"log/{LOG_PREFIX}beta_epsilon); it belongs to another run",
                hint,
            )
        if frame.seed is None and seed_logged:
            raise FileCheckError(
                path,
                f"does not record the seed of its run (frame {k}), so it "
                "cannot be matched to this checkpoint",
                hint,
            )
        seed = run.seed if frame.seed is None else frame.seed
        found = RunIdentity(frame.n, frame.box[:3], seed, frame.beta_epsilon, frame.well_range)
        diffs = run.differences(found)
        if any(abs(x) > 0 for x in frame.box[3:]):
            diffs.append("a tilted box")
        if diffs:
            raise FileCheckError(
                path, f"belongs to another run (frame {k} at sweep {frame.step}: {'; '.join(diffs)})", hint
            )
        if previous is not None and frame.step <= previous:
            raise FileCheckError(
                path, f"is damaged or mixed (frame {k} at sweep {frame.step} follows sweep {previous})", hint
            )
        previous = frame.step


def check_trajectory_continues(
    path,
    run: RunIdentity,
    *,
    period: int,
    first: int | None = None,
    last: int | None = None,
    seed_logged: bool = True,
    hint: str = "",
) -> None:
    """Check that a run resumed from a checkpoint (identity `run`, at `run.sweep`) may append
    to the trajectory `path`, which it first trims to the frames up to `run.sweep`.

    Refused: an unreadable file; frames of another run (N, box, seed, beta_epsilon, well_range);
    frames newer than `last` (the sweep the resumed run reaches; default `run.sweep`), which
    trimming would lose; a gap before the checkpoint.  With `first` (the sweep the trajectory
    started at) every frame the run wrote in [first, run.sweep) must be there, and a missing file
    is an error if it should hold any.  Without `first` a missing file is a new trajectory and a
    gap means the last kept frame is more than one frame spacing before `run.sweep`.
    `seed_logged=False` accepts frames without a seed log (written before cubemc logged it).
    """
    period = int(period)
    expected = [] if first is None else expected_frame_steps(first, run.sweep - 1, period)
    if not os.path.lexists(path):
        if expected:
            raise FileCheckError(
                path,
                f"is missing, but the checkpoint at sweep {run.sweep} "
                f"needs its {len(expected)} frame(s) from sweep {expected[0]}",
                hint,
            )
        return
    frames = read_trajectory_frames(path, hint=hint)
    check_frame_identities(path, frames, run, seed_logged, hint)
    steps = [frame.step for frame in frames]
    limit = run.sweep if last is None else max(int(last), run.sweep)
    if steps and steps[-1] > limit:
        raise FileCheckError(
            path,
            f"has frames up to sweep {steps[-1]}, newer than the sweep "
            f"{limit} this run reaches from its checkpoint (sweep {run.sweep}); "
            "continuing would delete them",
            hint,
        )
    kept = [step for step in steps if step <= run.sweep]
    if first is not None:
        early = [step for step in kept if step < first]
        missing = sorted(set(expected) - set(kept))
        if early:
            raise FileCheckError(
                path,
                f"has frames from sweep {early[0]}, before sweep {first} "
                "where this trajectory starts: it belongs to another run",
                hint,
            )
        if missing:
            raise FileCheckError(
                path,
                f"is shorter than its checkpoint says: it lacks "
                f"{len(missing)} of the {len(expected)} frames between sweep "
                f"{first} and the checkpoint at sweep {run.sweep} (first "
                f"missing: sweep {missing[0]})",
                hint,
            )
    elif kept:
        # a frame is missing only if it was due both at the file's spacing and at `period`
        spacing = max(kept[-1] - kept[-2], period) if len(kept) >= 2 else period
        if kept[-1] + spacing <= run.sweep:
            raise FileCheckError(
                path,
                f"ends at sweep {kept[-1]}, but the checkpoint is at sweep "
                f"{run.sweep}: the frames in between are missing",
                hint,
            )


def check_trajectory_complete(
    path, run: RunIdentity, *, period: int, first: int, seed_logged: bool = True, hint: str = ""
) -> int:
    """Check that the finished trajectory `path` of `run` holds every frame from sweep `first`
    to `run.sweep` (every `period` sweeps) and nothing else; returns the number of frames."""
    expected = expected_frame_steps(first, run.sweep, period)
    if not os.path.lexists(path):
        raise FileCheckError(path, "does not exist", hint)
    frames = read_trajectory_frames(path, hint=hint)
    check_frame_identities(path, frames, run, seed_logged, hint)
    steps = [frame.step for frame in frames]
    if steps != expected:
        missing = sorted(set(expected) - set(steps))
        extra = sorted(set(steps) - set(expected))
        detail = f"first missing: sweep {missing[0]}" if missing else f"unexpected frame at sweep {extra[0]}"
        raise FileCheckError(
            path,
            f"is incomplete: {len(steps)} frames instead of the "
            f"{len(expected)} from sweep {first} to {run.sweep} ({detail})",
            hint,
        )
    return len(steps)


def check_checkpoint_target(
    path, run: RunIdentity | None = None, *, last: int | None = None, hint: str = ""
) -> None:
    """Check that a checkpoint may be written to `path`.

    An existing file is replaced only if it is a readable checkpoint of the same run (`run`;
    ``None`` for a run that has no checkpoint yet, which may replace nothing) at a sweep no later
    than `last`, the sweep this run reaches.  (Check the folder with check_writable_directory.)
    """
    if os.path.lexists(path):
        if os.path.isdir(path):
            raise FileCheckError(path, "is a directory, not a checkpoint file", hint)
        if run is None:
            raise FileCheckError(path, "exists; refusing to overwrite it with a new run", hint)
        try:
            existing = read_checkpoint_identity(path)
        except FileCheckError as err:
            raise FileCheckError(path, f"exists and {err.problem}; refusing to overwrite it", hint) from None
        diffs = run.differences(existing)
        if diffs:
            raise FileCheckError(
                path, f"is a checkpoint of another run ({'; '.join(diffs)}); refusing to overwrite it", hint
            )
        if last is not None and existing.sweep > last:
            raise FileCheckError(
                path,
                f"holds sweep {existing.sweep} of this run, later than the "
                f"sweep {last} this run reaches; refusing to replace it by an "
                "earlier state",
                hint,
            )
