"""GSD trajectories (float32 frames with cube shape and logs) and atomic float64 checkpoints."""

import json
import os
import tempfile

import gsd.fl
import gsd.hoomd
import numpy as np

from . import files, shapes
from .contract import LOG_KEYS, LOG_PREFIX, LOG_UINT64_KEYS
from .errors import InputError
from .gsd_logs import LogKeys as LogKeys  # for writers, which append through this module
from .gsd_logs import fit_frame, handle_logs, open_frames, rewrite
from .gsd_logs import frame_logs as frame_logs  # for the analysis, which reads through this module
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
    for key in LOG_KEYS:  # every key in every frame (gsd_logs: a missing one means "not logged")
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
    """configuration/step of every frame in an existing GSD file (0 where never written)."""
    with gsd.fl.open(os.fspath(path), "r") as handle:
        return [_step(handle, k) for k in range(handle.nframes)]


def write_snapshot(path, sim):
    """`sim`'s present state as a one-frame GSD file written atomically, for viewers (not for
    restarts); non-cube particles carry their shapes (a native simulation's `state`)."""
    tmp = path + ".tmp"
    if os.path.exists(tmp):  # left by a killed run; append would add to it
        os.remove(tmp)
    state = getattr(sim, "state", None)
    kinds = (
        ()
        if state is None or state.shape == "cube"
        else shape_types(shapes.get(state.shape), state.shape_params)
    )
    append(
        tmp, make_frame(sim.positions, sim.orientations, sim.box, int(sim.sweep), sim.log_values(), *kinds)
    )
    os.replace(tmp, path)


def steps_and_logs(path, prefix="log/"):
    """(`frame_steps`, `frame_logs` under `prefix`) of an existing GSD file, read in one open."""
    with gsd.fl.open(os.fspath(path), "r") as handle:
        return [_step(handle, k) for k in range(handle.nframes)], handle_logs(handle, prefix)


def _step(handle, frame):
    for source in (frame, 0):  # a frame that left out its step has frame 0's (gsd.hoomd's rule)
        if handle.chunk_exists(source, "configuration/step"):
            return int(handle.read_chunk(source, "configuration/step")[0])
    return 0


def trim_after(path, step):
    """Drop frames with configuration.step > step (left by a run killed after its checkpoint).

    Check first that the file is the run's own (check_run_owns): this deletes whatever it is told.
    The kept frames go chunk by chunk to a temporary file that replaces the original only when
    complete (gsd_logs.rewrite: a file whose first frame lacks log keys comes out readable).
    """
    if not os.path.exists(path):
        return
    steps = frame_steps(path)
    keep = [k for k, s in enumerate(steps) if s <= step]
    if len(keep) == len(steps):
        return
    rewrite(path, keep)


def needs_first_frame(path, sim, period):
    """Refuse a trajectory of another run (check_run_owns), drop frames newer than `sim.sweep`
    (left by a run killed after its checkpoint); True when the run should start by writing the
    frame of `sim.sweep`.  `sim` is a native or HOOMD simulation."""
    sweep = int(sim.sweep)
    if not os.path.exists(path):
        return sweep % period == 0
    steps = check_run_owns(path, sim)
    if steps and steps[-1] > sweep:
        trim_after(path, sweep)
    return sweep % period == 0 and sweep not in steps


OWNER_HINT = "it was left as it was; write to another file, or move it aside"


def check_run_owns(path, sim, hint=OWNER_HINT):
    """Check that the existing trajectory `path` is `sim`'s run's, which may trim it to
    `sim.sweep` and append; its frames' steps.  Raises files.FileCheckError and writes nothing.

    Every frame must log this run's N, seed and model parameters, and its box unless box moves
    change it (files.check_frame_identities); the last frame at or before `sim.sweep` its
    particle shapes; a frame at `sim.sweep` its configuration.  A gap after the last frame is
    allowed (runs may write frames only from some sweep on), a file whose frames all come after
    `sim.sweep` is not (nothing in it can be matched to this run, and trimming would empty it).
    """
    state, sweep = sim.state, int(sim.sweep)
    box = None if _box_changes(sim) else tuple(float(x) for x in state.box)
    run = files.RunIdentity(
        state.N, box, int(sim.seed), float(sim.beta_epsilon), float(sim.well_range), sweep
    )
    frames = files.read_trajectory_frames(path, hint=hint)
    files.check_frame_identities(path, frames, run, seed_logged=False, hint=hint)
    steps = [frame.step for frame in frames]
    kept = [k for k, step in enumerate(steps) if step <= sweep]
    if steps and not kept:
        problem = (
            f"holds only frames after sweep {sweep} of this simulation (sweeps {steps[0]} to {steps[-1]})"
        )
        raise files.FileCheckError(path, problem + ", none to compare with its configuration", hint)
    if kept:
        _check_frame_matches(path, kept[-1], state, sweep, hint)
        if steps[kept[-1]] != sweep and any(f.seed is None for f in frames):
            raise files.FileCheckError(
                path,
                f"does not record the seed of its run and has no frame at sweep {sweep} to compare",
                hint,
            )
    return steps


def _check_frame_matches(path, index, state, sweep, hint):
    """Frame `index` of `path` holds the particle shapes of `state`, and if it is the frame of
    `sweep`, its configuration (float32, as frames store it)."""
    try:
        with open_frames(path) as traj:
            frame = traj[index]
    except Exception as err:  # gsd raises several types for damaged files
        raise files.FileCheckError(path, f"is damaged ({type(err).__name__}: {err})", hint) from None
    step = int(frame.configuration.step)
    own = shape_types(shapes.get(state.shape), state.shape_params)
    theirs = (frame.particles.type_shapes, frame.particles.typeid)
    if not np.array_equal(_shape_keys(*theirs, state.N), _shape_keys(*own, state.N)):
        raise files.FileCheckError(
            path, f"belongs to another run (frame at sweep {step}: other particle shapes)", hint
        )
    difference = _configuration_difference(frame, state) if step == sweep else 0.0
    if difference > 4 * np.spacing(np.float32(max(1.0, *state.box))):
        raise files.FileCheckError(
            path,
            f"belongs to another run (its frame at sweep {sweep} differs from this simulation's "
            f"configuration by up to {difference:.3g})",
            hint,
        )


def _box_changes(sim):
    from .npt import BoxMove  # noqa: PLC0415 (npt imports operations, which imports this module)

    return any(isinstance(op, BoxMove) for op in getattr(sim, "operations", ()))


def _shape_keys(type_shapes, typeid, n):
    """One string per particle naming its shape (boxes by half extents and rounding radius, so
    the older empty entry of unit cubes matches); None if the types do not cover n particles."""
    names = []
    for shape in type_shapes or []:
        parsed = _box_shape(shape) if isinstance(shape, dict) else None
        if parsed is None:
            names.append(json.dumps(shape, sort_keys=True, default=str))
        else:
            names.append(" ".join(f"{x:.9g}" for x in (*parsed[0], parsed[1])))
    typeid = np.asarray(typeid if typeid is not None else np.zeros(n), np.int64)
    if not names or typeid.shape != (n,) or np.any(typeid < 0) or np.any(typeid >= len(names)):
        return None
    return np.array(names)[typeid]


def _configuration_difference(frame, state):
    """Largest difference between a GSD frame and `state` (positions modulo the box, quaternions
    up to sign) after rounding `state` to float32 as frames are; inf if N or the box differ."""
    box = np.asarray(frame.configuration.box[:3], np.float64)
    pos = np.asarray(frame.particles.position, np.float64)
    quat = np.asarray(frame.particles.orientation, np.float64)
    if pos.shape != state.positions.shape or not np.allclose(box, state.box, rtol=1e-6, atol=0.0):
        return np.inf
    d = pos - state.positions.astype(np.float32)
    d -= box * np.round(d / box)
    q = state.orientations.astype(np.float32).astype(np.float64)
    dq = np.minimum(np.abs(quat - q).max(axis=1), np.abs(quat + q).max(axis=1))
    return float(max(np.abs(d).max(initial=0.0), dq.max(initial=0.0)))


def append(path, frame, keys=None):
    """Append `frame` to the GSD file `path` (created if missing), logging the keys of the
    file's first frame (gsd_logs.fit_frame; new float keys rewrite the file once).  `keys` (a
    LogKeys, kept by a writer across its frames) saves reading them from the file each time."""
    fitted = os.path.exists(path) and os.path.getsize(path) > 0
    add = fit_frame(path, frame, keys) if fitted else {}
    if add:
        rewrite(path, None, add)
    with gsd.hoomd.open(path, "a") as traj:
        traj.append(frame)
    if keys is not None:
        keys.appended(path, same_keys=fitted and not add)


def read_frame(path, frame=-1, with_shape=False):
    """(positions, orientations, box) of one frame, as float64; checks the box.  The particles must
    be unit cubes unless with_shape, which adds (shape name, per-particle parameters) read from
    particles/type_shapes (boxes and rounded boxes: "cube", "cuboid" or "rounded_cuboid")."""
    try:
        with open_frames(path) as traj:
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
