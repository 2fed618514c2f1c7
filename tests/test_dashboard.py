"""The dashboard served by ``python dashboard.py run`` and loaded in a real headless Chromium."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import signac
from conftest import REPO, clean_env

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def chromium():
    exe = find_chromium()
    if exe is None:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get)")
        proc = subprocess.run(
            [str(REPO / "scripts" / "install-chromium.sh")],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        exe = find_chromium()
        if exe is None:
            pytest.skip(f"chromium could not be installed: {proc.stderr.strip()[-500:]}")
    return exe


def browse(chromium, url, tmp_path, *extra):
    """Load ``url`` in a fresh headless Chromium profile; returns the completed process."""
    profile = tmp_path / f"profile-{time.monotonic_ns()}"
    proc = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def dom(chromium, url, tmp_path):
    return browse(chromium, url, tmp_path, "--dump-dom").stdout


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, project_dir, token):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = clean_env(CUBEMC_DASHBOARD_TOKEN=token)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "dashboard.py"),
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=project_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/login", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError):
                if self.proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise AssertionError(f"dashboard did not start:\n{self.proc.stdout.read()}") from None
                time.sleep(0.3)

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return response.status, response.headers.get("Content-Type"), response.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def test_dashboard_in_a_real_browser(finished_project, chromium, tmp_path):
    project_dir, _ = finished_project
    project = signac.get_project(project_dir)
    attractive = next(iter(project.find_jobs({"beta_epsilon": -1.0})))
    server = Server(project_dir, token="none")
    try:
        jobs_page = dom(chromium, server.url + "/jobs/", tmp_path)
        assert "1 to 2 of 2 jobs" in jobs_page
        for job in project:
            assert job.id[:8] in jobs_page
        assert "beta_eps=-1.0" in jobs_page and "beta_eps=0.0" in jobs_page

        job_page = dom(chromium, f"{server.url}/jobs/{attractive.id}", tmp_path)
        assert attractive.id in job_page
        assert "crystal_vacancy" in job_page and "well_range" in job_page and "1.14" in job_page
        assert "analysed" in job_page  # the flow label
        assert "Energy trace" in job_page and "Snapshot" in job_page
        for image in ("energy.png", "snapshot.png"):
            assert f"/jobs/{attractive.id}/file/{image}" in job_page
            status, _, body = server.get(f"/jobs/{attractive.id}/file/{image}")
            assert status == 200 and body[:8] == b"\x89PNG\r\n\x1a\n"
        assert "provenance" in job_page and "numba" in job_page  # the job document

        project_page = dom(chromium, server.url + "/project/", tmp_path)
        assert "2 jobs. analysed: 2. report: up to date." in project_page
        assert "report/overview_bonds.png" in project_page

        shot = tmp_path / "job-page.png"
        browse(
            chromium,
            f"{server.url}/jobs/{attractive.id}",
            tmp_path,
            f"--screenshot={shot}",
            "--window-size=1280,900",
            "--hide-scrollbars",
        )
        assert shot.stat().st_size > 20000
        from matplotlib.image import imread

        pixels = imread(shot)
        assert pixels.shape[:2] == (900, 1280)
        assert np.std(pixels[..., :3]) > 0.05  # not a blank page
    finally:
        server.stop()


def test_dashboard_requires_the_token(finished_project, chromium, tmp_path):
    project_dir, _ = finished_project
    job = next(iter(signac.get_project(project_dir)))
    server = Server(project_dir, token="s3cret-token")
    try:
        locked = dom(chromium, server.url + "/jobs/", tmp_path)
        assert job.id[:8] not in locked and 'name="token"' in locked
        # logging in redirects to the project page within the same browser session
        opened = dom(chromium, server.url + "/login?token=s3cret-token", tmp_path)
        assert "2 jobs. analysed: 2" in opened
        wrong = dom(chromium, server.url + "/login?token=wrong", tmp_path)
        assert "2 jobs." not in wrong
    finally:
        server.stop()
