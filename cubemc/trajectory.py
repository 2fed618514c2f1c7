"""GSD trajectories (float32 frames with cube shape and logs) and atomic float64 checkpoints."""

import os
import tempfile

import gsd.hoomd
import numpy as np

from .contract import LOG_KEYS, LOG_PREFIX, LOG_UINT64_KEYS
from .errors import InputError
from .shapes import cube

CUBE_SHAPE = cube.gsd_shapes(None)[0]


def make_frame(positions, orientations, box, step, log, type_shapes=None, typeid=None):  # noqa: PLR0913 (a frame's parts, by name)
    """One GSD frame; `log` maps LOG_KEYS to scalars; type_shapes defaults to the unit cube.

    typeid (N,) assigns particles to the entries of type_shapes (types "A0", "A1", ...; a single
    type is "A"); see shape_types for a shape family's types.
    """
    frame = gsd.hoomd.Frame()
    frame.configuration.step = int(step)
    frame.configuration.box = [float(box[0]), float(box[1]), float(box[2]), 0.0, 0.0, 0.0]
    frame.particles.N = positions.shape[0]
    n_types = 1 if type_shapes is None else len(type_shapes)
    frame.particles.types = ["A"] if n_types == 1 else [f"A{k}" for k in range(n_types)]
    frame.particles.typeid = (
        np.zeros(positions.shape[0], np.uint32) if typeid is None else np.asarray(typeid, np.uint32)
    )
    frame.particles.position = positions.astype(np.float32)
    frame.particles.orientation = orientations.astype(np.float32)
    frame.particles.type_shapes = [CUBE_SHAPE] if type_shapes is None else type_shapes
    for key in LOG_KEYS:  # every key in every frame: gsd falls back to frame 0 for missing ones
        dtype = np.uint64 if key in LOG_UINT64_KEYS else np.float64
        frame.log[LOG_PREFIX + key] = np.array([log[key]], dtype)
    return frame


def shape_types(shape, params):
    """(type_shapes, typeid) of particles of a shape module with per-particle `params`: one GSD
    type per distinct particle for families with sizes (exact round trip through read_frame)."""
    if hasattr(shape, "gsd_types"):
        return shape.gsd_types(params)
    n = 0 if params is None else np.asarray(params).shape[0]
    return shape.gsd_shapes(params), np.zeros(n, np.uint32)


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


def read_frame(path, frame=-1, with_shape=False):
    """(positions, orientations, box) of one frame, as float64; checks the box.  The particles must
    be unit cubes unless with_shape, which adds (shape name, per-particle parameters) read from
    particles/type_shapes (boxes and rounded boxes: "cube", "cuboid" or "rounded_cuboid")."""
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
    pos = np.asarray(f.particles.position, np.float64)
    quat = np.asarray(f.particles.orientation, np.float64)
    name, per_type = _shape_family(path, f.particles.type_shapes or [], with_shape)
    if not with_shape:
        return pos, quat, box[:3]
    typeid = np.asarray(f.particles.typeid, np.int64)
    if per_type.shape[0] == 0 or np.any(typeid >= per_type.shape[0]):
        per_type = per_type[:1] if per_type.shape[0] else np.zeros((1, 1))
        typeid = np.zeros(pos.shape[0], np.int64)
    return pos, quat, box[:3], name, per_type[typeid]


def _shape_family(path, type_shapes, with_shape):
    """(shape name, parameters per type) of GSD type_shapes made of boxes and rounded boxes."""
    boxes = []
    for shape in type_shapes:
        parsed = _box_shape(shape) if isinstance(shape, dict) else None
        is_cube = parsed is not None and parsed[1] == 0.0 and _is_unit_cube(parsed[0])
        if parsed is None or (not with_shape and not is_cube):
            what = "a unit cube" if not with_shape else "a box, rounded box or sphere"
            raise InputError(f"{path}: particle shape is not {what}: {shape}")
        boxes.append(parsed)
    if all(r == 0.0 and _is_unit_cube(h) for h, r in boxes):
        return "cube", np.zeros((len(boxes), 1))
    if all(r == 0.0 for _, r in boxes):
        return "cuboid", np.array([2.0 * h for h, _ in boxes])
    return "rounded_cuboid", np.array([np.append(2.0 * h, r) for h, r in boxes])


def _box_shape(shape):
    """(half extents (3,), rounding radius) of an entry that is a centred box, rounded box or
    sphere; None otherwise; the empty entry {} is taken as the unit cube (older files)."""
    if not shape:
        return np.full(3, 0.5), 0.0
    if shape.get("type") == "Sphere":
        return np.zeros(3), 0.5 * float(shape.get("diameter", 1.0))
    verts = shape.get("vertices")
    if shape.get("type") != "ConvexPolyhedron" or verts is None:
        return None
    verts = np.asarray(verts, np.float64)
    if verts.ndim != 2 or verts.shape[1] != 3:
        return None
    half = np.abs(verts).max(axis=0)
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * half
    key = lambda v: tuple(np.round(v, 9))  # noqa: E731
    if set(map(key, verts)) != set(map(key, corners)):
        return None
    return half, float(shape.get("rounding_radius", 0.0))


def _is_unit_cube(half):
    return bool(np.all(np.abs(np.asarray(half) - 0.5) < 1e-6))


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
