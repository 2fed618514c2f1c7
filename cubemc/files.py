"""Identity and safety checks for the files a run reads and writes.

Every check is a plain function of paths and values (no engine objects), so the command line,
the workflow and the engines' own writers can share them.  A failed check raises
:class:`FileCheckError` (a `cubemc.InputError`) whose one-line message names the file, says what
is wrong and how to recover.  No check writes anything.

A *run* is identified by N, the box, the seed and the model parameters (:class:`RunIdentity`);
a trajectory or checkpoint written by another run must never be trimmed, appended to or replaced.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .contract import CHECKPOINT_KEYS, LOG_PREFIX
from .errors import InputError

#: environment variable with the memory a run may use ("16G", "512M", bytes)
MEMORY_LIMIT_ENV = "CUBEMC_MEMORY_LIMIT"
#: measured peak of one run, about 410 bytes per cube (coordinates and their copies, cell lists,
#: a GSD frame) on top of the interpreter with numba; doubled for safety
BASE_MEMORY_BYTES = 512 * 2**20
BYTES_PER_CUBE = 1024
#: cell lists: about 22 bytes per unit volume at the densest cells, doubled
BYTES_PER_VOLUME = 48
#: file sizes: float32 positions and quaternions per frame, float64 in checkpoints
FRAME_BYTES_PER_CUBE, FRAME_OVERHEAD = 28, 4096
CHECKPOINT_BYTES_PER_CUBE, CHECKPOINT_OVERHEAD = 56, 16384

_ZIP_MAGIC = b"PK\x03\x04"
_GSD_MAGIC = (0x65DF65DF65DF65DF).to_bytes(8, "little")


class FileCheckError(InputError):
    """A file or directory that cannot be used as asked; ``path`` names it."""

    def __init__(self, path, problem: str, hint: str = ""):
        self.path = os.fspath(path)
        self.problem = problem
        self.hint = hint
        super().__init__(f"{self.path} {problem}" + (f"; {hint}" if hint else ""))


@dataclass(frozen=True)
class RunIdentity:
    """What identifies a run (N, box, seed, model parameters) and the sweep it has reached."""

    n: int
    box: tuple[float, float, float]
    seed: int
    beta_epsilon: float
    well_range: float
    sweep: int = 0

    def describe(self) -> str:
        """e.g. ``N=999, box 10.77x10.77x10.77, seed 7, beta_epsilon -1, well_range 1.14``."""
        return (f"N={self.n}, box {'x'.join(f'{x:.6g}' for x in self.box)}, seed {self.seed}, "
                f"beta_epsilon {self.beta_epsilon:g}, well_range {self.well_range:g}")

    def differences(self, other: RunIdentity) -> list[str]:
        """What differs from ``other`` ("N 64, not 125"); the sweep is not compared.

        Boxes agree to float32 precision (GSD stores float32), parameters to 1e-9.
        """
        out = []
        if other.n != self.n:
            out.append(f"N {other.n}, not {self.n}")
        if not np.allclose(other.box, self.box, rtol=1e-6, atol=0.0):
            out.append(f"box {'x'.join(f'{x:.6g}' for x in other.box)}, not "
                       f"{'x'.join(f'{x:.6g}' for x in self.box)}")
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
        raise FileCheckError(path, f"is not a cubemc checkpoint (it is {_kind_words(kind)})",
                             hint)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as err:  # zipfile, zlib and numpy raise several types for damaged files
        raise FileCheckError(path, f"is damaged ({type(err).__name__}: {err})", hint) from None
    missing = [key for key in CHECKPOINT_KEYS if key not in arrays]
    if missing:
        raise FileCheckError(path, f"is not a cubemc checkpoint (it lacks {', '.join(missing)})",
                             hint)
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
    return RunIdentity(n=int(positions.shape[0]), box=tuple(float(x) for x in box),
                       seed=int(arrays["seed"]), beta_epsilon=float(arrays["beta_epsilon"]),
                       well_range=float(arrays["well_range"]), sweep=sweep)


def read_trajectory_frames(path, *, hint: str = "") -> list[FrameIdentity]:
    """Step, N, box and cubemc logs of every frame of a GSD file (small chunks only)."""
    import gsd.fl

    kind = file_kind(path)
    if kind not in ("gsd", "missing"):
        raise FileCheckError(path, f"is not a GSD file (it is {_kind_words(kind)})", hint)
    try:
        with gsd.fl.open(os.fspath(path), "r") as handle:
            if handle.schema != "hoomd":
                raise FileCheckError(path, f"is a GSD file of schema {handle.schema!r}, not a "
                                     "trajectory", hint)
            return [_frame_identity(handle, k) for k in range(handle.nframes)]
    except FileCheckError:
        raise
    except Exception as err:  # gsd raises OSError, RuntimeError, ValueError for damaged files
        problem = "does not exist" if kind == "missing" else "is damaged"
        raise FileCheckError(path, f"{problem} ({type(err).__name__}: {err})", hint) from None


def _kind_words(kind: str) -> str:
    return {"missing": "missing", "directory": "a directory", "empty": "an empty file",
            "npz": "a .npz archive", "gsd": "a GSD trajectory", "json": "a JSON file",
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
        well_range=scalar(f"log/{LOG_PREFIX}well_range", float))


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
        raise FileCheckError(path, f"is not a cubemc checkpoint (it lacks {', '.join(missing)})",
                             hint)


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
        raise FileCheckError(path, f"({what}) is damaged ({type(err).__name__}: {err})",
                             hint) from None
    if not isinstance(data, dict):
        raise FileCheckError(path, f"({what}) is damaged (it holds no JSON object)", hint)
    return data


# --- trajectories and checkpoints of one run ---------------------------------------------------


def expected_frame_steps(first: int, last: int, period: int) -> list[int]:
    """Sweeps in [first, last] at which a run writes frames (the multiples of `period`)."""
    start = -(-first // period) * period
    return list(range(start, last + 1, period))


def _check_frame_identities(path, frames, run: RunIdentity, seed_logged: bool, hint: str):
    previous = None
    for k, frame in enumerate(frames):
        if frame.beta_epsilon is None or frame.well_range is None:
            raise FileCheckError(path, f"was not written by cubemc (frame {k} has no "
                                 f"log/{LOG_PREFIX}beta_epsilon); it belongs to another run", hint)
        if frame.seed is None and seed_logged:
            raise FileCheckError(path, f"does not record the seed of its run (frame {k}), so it "
                                 "cannot be matched to this checkpoint", hint)
        seed = run.seed if frame.seed is None else frame.seed
        found = RunIdentity(frame.n, frame.box[:3], seed, frame.beta_epsilon, frame.well_range)
        diffs = run.differences(found)
        if any(abs(x) > 0 for x in frame.box[3:]):
            diffs.append("a tilted box")
        if diffs:
            raise FileCheckError(path, f"belongs to another run (frame {k} at sweep {frame.step}: "
                                 f"{'; '.join(diffs)})", hint)
        if previous is not None and frame.step <= previous:
            raise FileCheckError(path, f"is damaged or mixed (frame {k} at sweep {frame.step} "
                                 f"follows sweep {previous})", hint)
        previous = frame.step


def check_trajectory_continues(path, run: RunIdentity, *, period: int, first: int | None = None,
                               last: int | None = None, seed_logged: bool = True,
                               hint: str = "") -> None:
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
            raise FileCheckError(path, f"is missing, but the checkpoint at sweep {run.sweep} "
                                 f"needs its {len(expected)} frame(s) from sweep {expected[0]}",
                                 hint)
        return
    frames = read_trajectory_frames(path, hint=hint)
    _check_frame_identities(path, frames, run, seed_logged, hint)
    steps = [frame.step for frame in frames]
    limit = run.sweep if last is None else max(int(last), run.sweep)
    if steps and steps[-1] > limit:
        raise FileCheckError(path, f"has frames up to sweep {steps[-1]}, newer than the sweep "
                             f"{limit} this run reaches from its checkpoint (sweep {run.sweep}); "
                             "continuing would delete them", hint)
    kept = [step for step in steps if step <= run.sweep]
    if first is not None:
        early = [step for step in kept if step < first]
        missing = sorted(set(expected) - set(kept))
        if early:
            raise FileCheckError(path, f"has frames from sweep {early[0]}, before sweep {first} "
                                 "where this trajectory starts: it belongs to another run", hint)
        if missing:
            raise FileCheckError(path, f"is shorter than its checkpoint says: it lacks "
                                 f"{len(missing)} of the {len(expected)} frames between sweep "
                                 f"{first} and the checkpoint at sweep {run.sweep} (first "
                                 f"missing: sweep {missing[0]})", hint)
    elif kept:
        # a frame is missing only if it was due both at the file's spacing and at `period`
        spacing = max(kept[-1] - kept[-2], period) if len(kept) >= 2 else period
        if kept[-1] + spacing <= run.sweep:
            raise FileCheckError(path, f"ends at sweep {kept[-1]}, but the checkpoint is at sweep "
                                 f"{run.sweep}: the frames in between are missing", hint)


def check_trajectory_complete(path, run: RunIdentity, *, period: int, first: int,
                              seed_logged: bool = True, hint: str = "") -> int:
    """Check that the finished trajectory `path` of `run` holds every frame from sweep `first`
    to `run.sweep` (every `period` sweeps) and nothing else; returns the number of frames."""
    expected = expected_frame_steps(first, run.sweep, period)
    if not os.path.lexists(path):
        raise FileCheckError(path, "does not exist", hint)
    frames = read_trajectory_frames(path, hint=hint)
    _check_frame_identities(path, frames, run, seed_logged, hint)
    steps = [frame.step for frame in frames]
    if steps != expected:
        missing = sorted(set(expected) - set(steps))
        extra = sorted(set(steps) - set(expected))
        detail = (f"first missing: sweep {missing[0]}" if missing
                  else f"unexpected frame at sweep {extra[0]}")
        raise FileCheckError(path, f"is incomplete: {len(steps)} frames instead of the "
                             f"{len(expected)} from sweep {first} to {run.sweep} ({detail})", hint)
    return len(steps)


def check_checkpoint_target(path, run: RunIdentity | None = None, *, last: int | None = None,
                            hint: str = "") -> None:
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
            raise FileCheckError(path, f"exists and {err.problem}; refusing to overwrite it",
                                 hint) from None
        diffs = run.differences(existing)
        if diffs:
            raise FileCheckError(path, f"is a checkpoint of another run ({'; '.join(diffs)}); "
                                 "refusing to overwrite it", hint)
        if last is not None and existing.sweep > last:
            raise FileCheckError(path, f"holds sweep {existing.sweep} of this run, later than the "
                                 f"sweep {last} this run reaches; refusing to replace it by an "
                                 "earlier state", hint)


# --- directories, disk space, memory -----------------------------------------------------------


def check_writable_directory(path, *, what: str = "directory", hint: str = "") -> None:
    """Check that `path` is an existing directory this process may create files in."""
    if not os.path.exists(path):
        raise FileCheckError(path, f"({what}) does not exist", hint)
    if not os.path.isdir(path):
        raise FileCheckError(path, f"({what}) is not a directory", hint)
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        raise FileCheckError(path, f"({what}) is on a read-only file system", hint)
    if not os.access(path, os.W_OK | os.X_OK):
        raise FileCheckError(path, f"({what}) is not writable (permission denied)", hint)


def check_free_space(path, needed: int, *, hint: str = "") -> None:
    """Check that the file system holding `path` has `needed` bytes and a free inode."""
    usage = shutil.disk_usage(path)
    if usage.free < needed:
        raise FileCheckError(path, f"has {format_bytes(usage.free)} of free disk space, less than "
                             f"the {format_bytes(needed)} needed", hint)
    stats = os.statvfs(path)
    if stats.f_files and not stats.f_favail:
        raise FileCheckError(path, "is on a file system without free inodes", hint)


def estimate_output_bytes(n_particles: int, *, frames: int = 0, checkpoints: int = 0) -> int:
    """Disk space for `frames` GSD frames and `checkpoints` checkpoint files of N cubes (an
    atomic checkpoint update briefly needs two files: count it as 2)."""
    n = int(n_particles)
    return (int(frames) * (FRAME_BYTES_PER_CUBE * n + FRAME_OVERHEAD)
            + int(checkpoints) * (CHECKPOINT_BYTES_PER_CUBE * n + CHECKPOINT_OVERHEAD))


def estimate_memory_bytes(n_particles: int, packing_fraction: float, *,
                          well_range: float = 1.14, systems: int = 1) -> int:
    """Peak memory of a process that simulates `systems` systems of N cubes at the given packing
    fraction (coordinates and their copies, cell lists, frames), on top of the interpreter."""
    volume = n_particles / packing_fraction
    per_system = BYTES_PER_CUBE * n_particles + BYTES_PER_VOLUME * volume * max(1.0, well_range)
    return int(BASE_MEMORY_BYTES + systems * per_system)


def physical_memory_bytes() -> int | None:
    """Memory of this machine, or of the cgroup this process runs in if that is smaller."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = None
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as handle:
            text = handle.read().strip()
        if text.isdigit():
            total = min(total or int(text), int(text))
    except OSError:
        pass
    return total


def parse_size(text: str, *, name: str = MEMORY_LIMIT_ENV) -> int:
    """Bytes of a size like ``"16G"``, ``"512M"``, ``"1.5T"``, ``"2gb"`` or ``"1000000"``."""
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    raw = str(text).strip().upper().removesuffix("B").removesuffix("I")
    number, unit = raw, ""
    if raw and raw[-1] in units:
        number, unit = raw[:-1], raw[-1]
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise InputError(f"{name}={text!r} is not a size such as 16G, 512M or 1000000") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{name}={text!r} must be a positive size")
    return int(value)


def memory_limit(limit: str | None = None, environ: Mapping[str, str] | None = None):
    """``(bytes, where the limit comes from)``: `limit`, else $CUBEMC_MEMORY_LIMIT, else the
    machine's memory; ``(None, ...)`` where none is known."""
    environ = os.environ if environ is None else environ
    if limit is not None:
        return parse_size(limit, name="memory limit"), "the given memory limit"
    if environ.get(MEMORY_LIMIT_ENV, "").strip():
        return parse_size(environ[MEMORY_LIMIT_ENV]), MEMORY_LIMIT_ENV
    return physical_memory_bytes(), "this machine's memory"


def check_memory(n_particles: int, packing_fraction: float, *, well_range: float = 1.14,
                 limit: str | None = None, environ: Mapping[str, str] | None = None,
                 hint: str = "") -> int:
    """Raise InputError if a run of N cubes needs more memory than allowed; returns the estimate."""
    needed = estimate_memory_bytes(n_particles, packing_fraction, well_range=well_range)
    allowed, source = memory_limit(limit, environ)
    if allowed is not None and needed > allowed:
        raise InputError(f"N={n_particles} cubes need about {format_bytes(needed)} of memory, "
                         f"more than {format_bytes(allowed)} ({source})"
                         + (f"; {hint}" if hint else ""))
    return needed


def format_bytes(count: float) -> str:
    """``1536 -> '1.5 KiB'``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"


# --- operating-system errors -------------------------------------------------------------------

_ERRNO_WORDS = {
    errno.ENOSPC: "no space left on the device (the disk is full)",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOENT: "no such file or directory",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.EISDIR: "it is a directory",
    errno.EIO: "input/output error (a failing disk or network file system)",
}


def describe_os_error(err: OSError) -> str:
    """One line for an OSError: the file and what the system said, in words."""
    words = _ERRNO_WORDS.get(err.errno) or err.strerror or str(err)
    name = err.filename
    if name is None:
        return words
    return f"{os.fspath(name)}: {words}"


def is_disk_full(err: OSError) -> bool:
    return err.errno in (errno.ENOSPC, errno.EDQUOT)
