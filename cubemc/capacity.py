"""Room to run: writable folders, free disk space and memory (plain functions of values).

Shared by the command line, the workflow and the engine (re-exported by cubemc.files).  A failed
check raises :class:`FileCheckError` (a `cubemc.InputError`) or `cubemc.InputError` with one
line that names the folder or the limit and how to proceed; nothing is written.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
from collections.abc import Mapping

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
FRAME_BYTES_PER_CUBE, FRAME_OVERHEAD = 28, 2048
CHECKPOINT_BYTES_PER_CUBE, CHECKPOINT_OVERHEAD = 56, 16384


class FileCheckError(InputError):
    """A file or directory that cannot be used as asked; ``path`` names it."""

    def __init__(self, path, problem: str, hint: str = ""):
        self.path = os.fspath(path)
        self.problem = problem
        self.hint = hint
        super().__init__(f"{self.path} {problem}" + (f"; {hint}" if hint else ""))


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
        raise FileCheckError(
            path,
            f"has {format_bytes(usage.free)} of free disk space, less than the {format_bytes(needed)} needed",
            hint,
        )
    stats = os.statvfs(path)
    if stats.f_files and not stats.f_favail:
        raise FileCheckError(path, "is on a file system without free inodes", hint)


def estimate_output_bytes(n_particles: int, *, frames: int = 0, checkpoints: int = 0) -> int:
    """Disk space for `frames` GSD frames and `checkpoints` checkpoint files of N cubes (an
    atomic checkpoint update briefly needs two files: count it as 2)."""
    n = int(n_particles)
    return int(frames) * (FRAME_BYTES_PER_CUBE * n + FRAME_OVERHEAD) + int(checkpoints) * (
        CHECKPOINT_BYTES_PER_CUBE * n + CHECKPOINT_OVERHEAD
    )


def estimate_memory_bytes(
    n_particles: int, packing_fraction: float, *, well_range: float = 1.14, systems: int = 1
) -> int:
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


def check_memory(
    n_particles: int,
    packing_fraction: float,
    *,
    well_range: float = 1.14,
    limit: str | None = None,
    environ: Mapping[str, str] | None = None,
    hint: str = "",
) -> int:
    """Raise InputError if a run of N cubes needs more memory than allowed; returns the estimate."""
    needed = estimate_memory_bytes(n_particles, packing_fraction, well_range=well_range)
    allowed, source = memory_limit(limit, environ)
    if allowed is not None and needed > allowed:
        raise InputError(
            f"N={n_particles} cubes need about {format_bytes(needed)} of memory, "
            f"more than {format_bytes(allowed)} ({source})" + (f"; {hint}" if hint else "")
        )
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
