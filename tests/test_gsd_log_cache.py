"""A writer's remembered log keys (gsd_logs.LogKeys) write the files that reading them at every
frame writes, byte for byte, and are read again when the file changed on disk in between."""

import gsd.fl
import numpy as np
import pytest

import cubemc
from cubemc import gsd_logs
from cubemc import trajectory as gsdio
from cubemc.contract import LOG_KEYS

EXTRA = "log/cubemc/extra"


def frame(step, **extra):
    """A frame of 8 particles (values from `step`), the engine's log plus float keys `extra`."""
    rng = np.random.default_rng(step)
    quat = rng.normal(size=(8, 4))
    made = gsdio.make_frame(
        rng.random((8, 3)) * 4,
        quat / np.linalg.norm(quat, axis=1)[:, None],
        (4.0, 4.0, 4.0),
        step,
        dict.fromkeys(LOG_KEYS, float(step)),
    )
    for key, value in extra.items():
        made.log["cubemc/" + key] = np.array([value], np.float64)
    return made


@pytest.fixture
def reads(monkeypatch):
    """The paths whose log keys were read from disk, in order."""
    seen, read = [], gsd_logs.file_logs

    def counted(path):
        seen.append(path)
        return read(path)

    monkeypatch.setattr(gsd_logs, "file_logs", counted)
    return seen


def write(path, keys):
    """Appends with a new float key (a rewrite), an integer key the file lacks (left out), a
    key the file has left out; trimmed and rewritten by others in between (restarts)."""
    gsdio.append(path, frame(0), keys)
    gsdio.append(path, frame(1), keys)
    gsdio.append(path, frame(2, moves=3.0), keys)  # a new float key: the file is rewritten
    late = frame(3)
    late.log["cubemc/count"] = np.array([7], np.int64)  # no NaN for integers: left out
    gsdio.append(path, late, keys)
    gsdio.trim_after(path, 2)  # a restart from the checkpoint at 2
    gsdio.append(path, frame(3), keys)
    gsd_logs.rewrite(path, None, {EXTRA[4:]: np.array([np.nan])})  # not through this writer
    gsdio.append(path, frame(4), keys)
    gsdio.append(path, frame(5, moves=4.0, extra=1.5), keys)


def test_remembered_keys_write_the_same_file_and_reread_a_file_changed_on_disk(tmp_path, reads):
    read_each_time, remembered = tmp_path / "a.gsd", tmp_path / "b.gsd"
    write(str(read_each_time), None)
    del reads[:]
    write(str(remembered), gsd_logs.LogKeys())
    assert read_each_time.read_bytes() == remembered.read_bytes()
    # read when the file has a first frame and was not this writer's last append: at frame 1,
    # after the rewrite for the new key, after the trim and after the outside rewrite
    assert len(reads) == 4
    with gsd.fl.open(str(remembered), "r") as handle:
        assert handle.nframes == 6
        # the outside rewrite gave frame 0 the key; frames appended after it log it (stale
        # keys would leave it out of frame 4)
        assert [handle.chunk_exists(k, EXTRA) for k in range(6)] == [True, False, False, False, True, True]
        assert not any(handle.chunk_exists(k, "log/cubemc/count") for k in range(6))
    logs = gsdio.frame_logs(str(remembered))
    np.testing.assert_equal(logs["cubemc/moves"], [np.nan, np.nan, 3.0, np.nan, np.nan, 4.0])
    np.testing.assert_equal(logs["cubemc/extra"], [np.nan] * 5 + [1.5])


def test_a_file_replaced_between_appends_gets_its_own_keys(tmp_path):
    """Another file moved over the path (same writer): its first frame lacks a key the old one
    had, so a frame logging it rewrites the file, as without remembered keys."""
    path, other, keys = str(tmp_path / "t.gsd"), str(tmp_path / "o.gsd"), gsd_logs.LogKeys()
    gsdio.append(path, frame(0, moves=1.0), keys)
    gsdio.append(path, frame(1, moves=2.0), keys)
    gsdio.append(other, frame(0))
    gsdio.append(other, frame(1))
    (tmp_path / "o.gsd").replace(path)
    gsdio.append(path, frame(2, moves=5.0), keys)
    np.testing.assert_equal(gsdio.frame_logs(path)["cubemc/moves"], [np.nan, np.nan, 5.0])


def test_a_writer_reads_its_file_once_per_run(tmp_path, reads):
    state = cubemc.State.simple_cubic(3, packing_fraction=0.5, seed=1)
    sim = cubemc.Simulation(state, -1.0, 1.14, seed=3, device="cpu")
    path = tmp_path / "t.gsd"
    sim.run(20, trajectory=path, period=5)  # frame 0 creates the file, frame 5 reads its keys
    assert reads == [str(path)]
    sim.run(10, trajectory=path, period=5)  # a new run, a new writer
    assert reads == [str(path)] * 2
    assert gsdio.frame_steps(str(path)) == [0, 5, 10, 15, 20, 25, 30]
