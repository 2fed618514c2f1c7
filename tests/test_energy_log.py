"""figures.read_energy_log: sweeps, energy and bonds of every frame, from one open of the file."""

import gsd.fl
import numpy as np

from cubemc import trajectory as gsdio
from cubemc.contract import LOG_KEYS
from cubemc.workflow import figures


def write_raw(path, frames):
    """A file written chunk by chunk: each frame a {chunk name: array} (chunks left out freely)."""
    with gsd.fl.open(str(path), "w", "test", "hoomd", (1, 4)) as handle:
        for chunks in frames:
            for name, value in chunks.items():
                handle.write_chunk(name, np.asarray(value))
            handle.end_frame()


def test_steps_and_logs_of_frames_that_leave_chunks_out(tmp_path):
    """A frame without its step has frame 0's (gsd.hoomd's rule); a log a frame lacks is NaN."""
    path = tmp_path / "t.gsd"
    write_raw(
        path,
        [
            {"configuration/step": np.array([5], np.uint64), "log/cubemc/energy": [-2.5]},
            {"log/other": [1.0]},
            {
                "configuration/step": np.array([9], np.uint64),
                "log/cubemc/energy": [-4.0],
                "log/cubemc/bonds": np.array([3], np.uint64),
            },
        ],
    )
    sweeps, energy, bonds = figures.read_energy_log(str(path))
    np.testing.assert_array_equal(sweeps, [5.0, 5.0, 9.0])
    np.testing.assert_array_equal(energy, [-2.5, np.nan, -4.0])
    np.testing.assert_array_equal(bonds, [np.nan, np.nan, 3.0])
    steps, logs = gsdio.steps_and_logs(str(path))
    assert steps == [5, 5, 9] and sorted(logs) == ["cubemc/bonds", "cubemc/energy", "other"]
    np.testing.assert_array_equal(logs["other"], [np.nan, 1.0, np.nan])


def test_a_file_without_bonds_and_a_missing_file(tmp_path):
    path = tmp_path / "t.gsd"
    write_raw(path, [{"configuration/step": np.array([k], np.uint64)} for k in (0, 10)])
    sweeps, energy, bonds = figures.read_energy_log(str(path))
    np.testing.assert_array_equal(sweeps, [0.0, 10.0])
    np.testing.assert_array_equal(energy, [np.nan, np.nan])
    np.testing.assert_array_equal(bonds, [np.nan, np.nan])
    assert [a.shape for a in figures.read_energy_log(str(tmp_path / "none.gsd"))] == [(0,)] * 3


def test_one_open_gives_what_the_separate_readers_give(tmp_path, monkeypatch):
    path = str(tmp_path / "t.gsd")
    for step in (0, 5, 10):
        log = {key: 0.25 * step + k for k, key in enumerate(LOG_KEYS)}
        gsdio.append(path, gsdio.make_frame(np.zeros((2, 3)), np.eye(4)[:2], (3.0,) * 3, step, log))
    steps, logs = gsdio.frame_steps(path), gsdio.frame_logs(path, "log/cubemc/")
    opened, real_open = [], gsd.fl.open
    monkeypatch.setattr(gsd.fl, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    sweeps, energy, bonds = figures.read_energy_log(path)
    assert opened == [path]
    np.testing.assert_array_equal(sweeps, np.asarray(steps, float))
    np.testing.assert_array_equal(energy, logs["energy"])
    np.testing.assert_array_equal(bonds, logs["bonds"])
    assert gsdio.steps_and_logs(path, "log/cubemc/")[1].keys() == logs.keys()
