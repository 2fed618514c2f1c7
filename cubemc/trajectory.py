"""GSD trajectories (float32 frames with cube shape and logs) and atomic float64 checkpoints."""

import os
import tempfile

import gsd.hoomd
import numpy as np

from .contract import LOG_KEYS, LOG_PREFIX, LOG_UINT64_KEYS
from .errors import InputError
from .geometry import CUBE_VERTICES
from .shapes import cube

CUBE_SHAPE = cube.gsd_shapes(None)[0]


def make_frame(positions, orientations, box, step, log, type_shapes=None):
    """One GSD frame; `log` maps LOG_KEYS to scalars; type_shapes defaults to the unit cube."""
    frame = gsd.hoomd.Frame()
    frame.configuration.step = int(step)
    frame.configuration.box = [float(box[0]), float(box[1]), float(box[2]), 0.0, 0.0, 0.0]
    frame.particles.N = positions.shape[0]
    frame.particles.types = ["A"]
    frame.particles.typeid = np.zeros(positions.shape[0], np.uint32)
    frame.particles.position = positions.astype(np.float32)
    frame.particles.orientation = orientations.astype(np.float32)
    frame.particles.type_shapes = [CUBE_SHAPE] if type_shapes is None else type_shapes
    for key in LOG_KEYS:  # every key in every frame: gsd falls back to frame 0 for missing ones
        dtype = np.uint64 if key in LOG_UINT64_KEYS else np.float64
        frame.log[LOG_PREFIX + key] = np.array([log[key]], dtype)
    return frame


def frame_steps(path):
    """configuration/step of every frame in an existing GSD file."""
    with gsd.hoomd.open(path, "r") as traj:
        return [int(f.configuration.step) for f in traj]


def trim_after(path, step):
    """Drop frames with configuration.step > step (left by a run killed after its checkpoint).

    The kept frames go to a temporary file that replaces the original only when complete.
    """
    if not os.path.exists(path):
        return
    steps = frame_steps(path)
    keep = [k for k, s in enumerate(steps) if s <= step]
    if len(keep) == len(steps):
        return
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".gsd.tmp")
    os.close(fd)
    try:
        with gsd.hoomd.open(path, "r") as src, gsd.hoomd.open(tmp, "w") as dst:
            for k in keep:
                dst.append(src[k])
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def needs_first_frame(path, sweep, period):
    """Drop frames newer than `sweep` (left by a run killed after its checkpoint); True when the
    run should start by writing the frame of `sweep`."""
    if not os.path.exists(path):
        return sweep % period == 0
    trim_after(path, sweep)
    return sweep % period == 0 and sweep not in set(frame_steps(path))


def append(path, frame):
    with gsd.hoomd.open(path, "a") as traj:
        traj.append(frame)


def read_frame(path, frame=-1):
    """(positions, orientations, box) of one frame, as float64; checks box and shape."""
    try:
        with gsd.hoomd.open(path, "r") as traj:
            n_frames = len(traj)
            if n_frames == 0:
                raise InputError(f"{path} contains no frames")
            if not -n_frames <= frame < n_frames:
                raise InputError(f"{path} has {n_frames} frames; frame {frame} does not exist")
            f = traj[frame]
    except InputError:
        raise
    except Exception as err:  # gsd raises several types for unreadable files
        raise InputError(f"cannot read GSD file {path}: {err}") from None
    box = np.asarray(f.configuration.box, np.float64)
    if np.any(np.abs(box[3:]) > 0):
        raise InputError(f"{path}: only orthorhombic boxes are supported (tilt factors {box[3:]})")
    for shape in f.particles.type_shapes or []:
        verts = shape.get("vertices") if isinstance(shape, dict) else None
        if shape and (shape.get("type") != "ConvexPolyhedron" or verts is None
                      or not _is_unit_cube(np.asarray(verts, np.float64))):
            raise InputError(f"{path}: particle shape is not a unit cube: {shape}")
    pos = np.asarray(f.particles.position, np.float64)
    quat = np.asarray(f.particles.orientation, np.float64)
    return pos, quat, box[:3]


def _is_unit_cube(verts):
    if verts.shape != (8, 3):
        return False
    key = lambda v: tuple(np.round(v, 6))  # noqa: E731
    return sorted(map(key, verts)) == sorted(map(key, CUBE_VERTICES))


def write_checkpoint(path, data):
    """np.savez to a temporary file in the same folder, fsync, then rename over `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_checkpoint(path, required):
    if not os.path.isfile(path):
        raise InputError(f"no such checkpoint: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
    except Exception as err:
        raise InputError(f"cannot read checkpoint {path}: {err}") from None
    missing = [k for k in required if k not in out]
    if missing:
        raise InputError(f"checkpoint {path} lacks {', '.join(missing)}")
    return out
