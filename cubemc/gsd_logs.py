"""The log chunks of cubemc GSD trajectories: one key set per file, and files that break it.

gsd.hoomd gives a frame that lacks a chunk the chunk of frame 0; for a log chunk that frame 0
lacks too, reading the frame fails (KeyError), so one frame logging a new key (VMMC counts, the
seed or pressure of newer versions) made every earlier frame but frame 0 unreadable.  Here:

- Writing (`fit_frame`, called by `trajectory.append`): the first frame fixes a file's log keys;
  later frames log every one of them (`fill_like` where they have no value).  A frame with a
  float key the first frame lacks rewrites the file once (a copy: the folder needs room for it)
  with that key added to its first frame as NaN ("not logged"; later frames without it read that
  NaN), so the new values are kept and every GSD reader still reads the file.  Refusing instead
  would stop a job that gains cluster moves, or any older job continued by a newer cubemc, just
  to keep a log column out; writing the key anyway would leave the file unreadable to users'
  own gsd.hoomd scripts.  An integer key the first frame lacks has no "unknown" value: the frame
  leaves it out (in practice the seed, which files older than the seed log never had; the
  checkpoint keeps it).  A writer appending frame after frame keeps a `LogKeys`, which reads a
  file's keys again only when the file changed on disk since its own last append.
- Reading (`open_frames`, `frame_logs`): particle data through gsd.hoomd with the log chunks
  hidden, logs through gsd.fl, NaN where a frame has no chunk.  cubemc writes every log key in
  every frame, so a missing log chunk means "not logged", never "as in frame 0".
"""

import contextlib
import os
import tempfile

import gsd.fl
import gsd.hoomd
import numpy as np

PREFIX = "log/"


def fill_like(value):
    """The value of a log key a frame has no value for: NaN; for integer logs the largest
    integer of the type (only logs other than cubemc's own can be integers a frame lacks); other
    kinds (text) repeat `value`."""
    value = np.asarray(value)
    if np.issubdtype(value.dtype, np.floating):
        return np.full(value.shape, np.nan, value.dtype)
    if np.issubdtype(value.dtype, np.integer):
        return np.full(value.shape, np.iinfo(value.dtype).max, value.dtype)
    return value


def _is_float(value):
    return isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating)


def _first_logs(handle, frames):
    """({key: chunk} logged by the first of `frames`, {key: NaN chunk} for the float keys only
    later ones log: files written before this module, which rewriting repairs)."""
    first, late = {}, {}
    for name in handle.find_matching_chunk_names(PREFIX):
        key = name[len(PREFIX) :]
        if handle.chunk_exists(frames[0], name):  # the usual case: no walk through the frames
            first[key] = handle.read_chunk(frames[0], name)
            continue
        have = next((k for k in frames if handle.chunk_exists(k, name)), None)
        if have is not None and _is_float(value := handle.read_chunk(have, name)):
            late[key] = fill_like(value)
    return first, late


def file_logs(path):
    """(first, late) of `_first_logs` over all frames of the existing `path`; None if it has none."""
    with gsd.fl.open(os.fspath(path), "r") as handle:
        if handle.nframes == 0:
            return None
        return _first_logs(handle, range(handle.nframes))


class LogKeys:
    """The `file_logs` of the files one writer appends to, read once per file.

    Reading them opens the file and its index, which cost as much as the append itself.  An
    entry holds while the file on disk is the one it was read from (same inode, size and
    mtime_ns, refreshed after each of this writer's own appends): a file rewritten or trimmed
    since (`rewrite`, `trajectory.trim_after`, another process) is read again.
    """

    def __init__(self):
        self._files = {}

    def logs(self, path):
        path = os.fspath(path)
        identity = _identity(path)  # before reading: a change while reading shows next time
        known = self._files.pop(path, None)
        if known is None or known[0] != identity:
            known = (identity, file_logs(path))
        if known[1] is not None:
            self._files[path] = known
        return known[1]

    def appended(self, path, same_keys):
        """`path` got a frame: one fitted to its remembered keys (`same_keys`: its first frame
        is unchanged, the entry holds for the new file), or one that created or rewrote it."""
        path = os.fspath(path)
        known = self._files.pop(path, None)
        if same_keys and known is not None:
            self._files[path] = (_identity(path), known[1])


def _identity(path):
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def fit_frame(path, frame, keys=None):
    """Make `frame` (a gsd.hoomd.Frame to append to the existing `path`) log the file's keys;
    {key: NaN chunk} to add to the file's first frame for its new float keys (see `rewrite`).
    `keys` (a LogKeys) remembers the file's keys between the frames of one writer."""
    logs = file_logs(path) if keys is None else keys.logs(path)
    if logs is None:
        return {}
    first, late = logs
    add = dict(late)
    for key in list(frame.log):
        if key in first or key in add:
            continue
        value = np.asarray(frame.log[key])
        if _is_float(value):
            add[key] = fill_like(value)
        else:  # no honest "unknown" to give the earlier frames: the file keeps its key set
            del frame.log[key]
    for key, value in {**first, **add}.items():
        if key not in frame.log:
            frame.log[key] = fill_like(value)
    return add


def rewrite(path, keep=None, add=None):
    """Copy the frames `keep` (indices, default all) of `path` chunk by chunk to a temporary
    file, with the log chunks `add` ({key: array}) put into its first frame, and NaN there for
    the float keys only later frames log (repairs older files); the copy replaces `path` only
    when complete (a failure leaves `path` as it was)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".gsd.tmp")
    os.close(fd)
    try:
        with gsd.fl.open(os.fspath(path), "r") as src:
            keep = list(range(src.nframes) if keep is None else keep)
            names = src.find_matching_chunk_names("")
            add = {**_first_logs(src, keep)[1], **(add or {})} if keep else {}
            with gsd.fl.open(tmp, "w", src.application, src.schema, src.schema_version) as dst:
                for position, k in enumerate(keep):
                    for name in names:
                        if src.chunk_exists(k, name):
                            dst.write_chunk(name, src.read_chunk(k, name))
                        elif keep[0] != 0 and not name.startswith(PREFIX) and src.chunk_exists(0, name):
                            # gsd.hoomd reads a chunk a frame left out from frame 0, not kept
                            dst.write_chunk(name, src.read_chunk(0, name))
                    for key, value in add.items() if position == 0 else ():
                        dst.write_chunk(PREFIX + key, np.asarray(value))
                    dst.end_frame()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class _WithoutLogs:
    """An open gsd.fl file as gsd.hoomd sees it, less its log chunks (see `frame_logs`)."""

    def __init__(self, handle):
        self._handle = handle

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def find_matching_chunk_names(self, match):
        names = self._handle.find_matching_chunk_names(match)
        return [name for name in names if not name.startswith(PREFIX)]


@contextlib.contextmanager
def open_frames(path):
    """gsd.hoomd's reader of `path` (read only) whose frames carry no logs: frames of files
    whose first frame lacks a log key later frames have stay readable.  Logs: `frame_logs`."""
    handle = gsd.fl.open(os.fspath(path), "r")
    try:
        yield gsd.hoomd.HOOMDTrajectory(_WithoutLogs(handle))
    finally:
        handle.close()


def frame_logs(path, prefix=PREFIX):
    """{key: float array, one value per frame} of the scalar logs under `prefix` (the key is
    the chunk name less `prefix`; an array log gives its first element), NaN where a frame did
    not log the key; uint64 logs (the seed) lose digits above 2**53 here."""
    with gsd.fl.open(os.fspath(path), "r") as handle:
        return handle_logs(handle, prefix)


def handle_logs(handle, prefix=PREFIX):
    """`frame_logs` of a file open for reading with gsd.fl (for readers of more than logs)."""
    n_frames = handle.nframes
    out = {}
    for name in handle.find_matching_chunk_names(prefix):
        values = np.full(n_frames, np.nan)
        for k in range(n_frames):
            value = handle.read_chunk(k, name) if handle.chunk_exists(k, name) else None
            if isinstance(value, np.ndarray) and value.size and value.dtype.kind in "biuf":
                values[k] = float(value.reshape(-1)[0])
        out[name[len(prefix) :]] = values
    return out
