"""Helpers of the reliability tests: real full and read-only file systems, file snapshots, and
the one-line error contract of the command lines."""

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, clean_env


def snapshot(path):
    """{relative path: sha256} of every file below `path` (to prove nothing changed)."""
    out = {}
    for root, _, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            with open(full, "rb") as handle:
                out[os.path.relpath(full, path)] = hashlib.sha256(handle.read()).hexdigest()
    return out


def assert_one_error_line(proc, *fragments, status=2, prefix=None):
    """Exit status `status`, exactly one line on stderr (containing every fragment), no
    traceback."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == status, (proc.returncode, proc.stderr[-3000:])
    assert len(lines) == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    if prefix is not None:
        assert lines[0].startswith(prefix), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def _mount(*args):
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


def _umount(path):
    if subprocess.run(["umount", path], capture_output=True, check=False).returncode != 0:
        subprocess.run(["umount", "-l", path], capture_output=True, check=False)


def _need_root():
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip(
            "needs root and mount(8) to create a real full or read-only file system "
            "(root ignores file modes, so chmod cannot stand in for them)"
        )


@contextlib.contextmanager
def tmpfs(path, options):
    """A tmpfs mounted at `path` with mount `options` (e.g. "size=64k,nr_inodes=16"),
    unmounted on exit even when the test fails; skips where mounting is impossible."""
    _need_root()
    os.makedirs(path, exist_ok=True)
    result = _mount("-t", "tmpfs", "-o", options, "tmpfs", str(path))
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield path
    finally:
        _umount(str(path))


def fill(path, leave=0):
    """Fill the file system of `path` with a file until at most `leave` bytes are free."""
    free = shutil.disk_usage(path).free
    with open(os.path.join(path, "filler"), "wb") as handle:
        block = b"\0" * 4096
        try:
            for _ in range(max(0, (free - leave) // len(block))):
                handle.write(block)
        except OSError:
            pass


@contextlib.contextmanager
def read_only(path):
    """Make the directory `path` read-only with a read-only bind mount onto itself, undone on
    exit even when the test fails."""
    _need_root()
    path = str(path)
    result = _mount("--bind", path, path)
    if result.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {result.stderr.strip()}")
    try:
        result = _mount("-o", "remount,ro,bind", path)
        if result.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {result.stderr.strip()}")
        yield path
    finally:
        _umount(path)


def sigint_default():
    """preexec_fn: a child that can be interrupted, even if this process ignores SIGINT (as
    background jobs of a non-interactive shell do)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_project_run(path, args, ready, deadline=120, group=False, sig=signal.SIGINT, to_group=None):  # noqa: PLR0913 (the run and how to stop it)
    """Run ``python project.py <args>`` in `path` (a checkpoint every 200 sweeps), send `sig`
    (Ctrl-C) once `ready()` holds and return (the finished Popen, its stderr).  With `group` the
    run has a process group of its own and the signal goes to the group, as a terminal's Ctrl-C
    does (`to_group` False: to the first process alone, as ``kill PID`` does)."""
    to_group = group if to_group is None else to_group
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "project.py"), *args],
        cwd=path,
        env=clean_env(CUBEMC_CHECKPOINTS=200),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=sigint_default,
        start_new_session=group,
    )
    try:
        stop = time.time() + deadline
        while not ready():
            assert proc.poll() is None and time.time() < stop, proc.communicate()
            time.sleep(0.05)
        if to_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.wait()
    return proc, err
