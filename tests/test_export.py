"""``python project.py export FILE.zip`` on a real finished project, and the report drawn from that
file alone with ``python -m cubemc.analysis.report``: the same report, anywhere."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from conftest import clean_env, cli
from cubemc.analysis.summaries_archive import MEMBER, ArchiveError, read_archive, read_archives, write_archive


def _report_from(archive, outdir, cwd):
    command = [sys.executable, "-m", "cubemc.analysis.report", str(outdir), str(archive)]
    return subprocess.run(command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=300)


def test_the_export_draws_the_projects_report_without_the_project(finished_project, tmp_path):
    path, _ = finished_project
    archive = tmp_path / "summaries.zip"
    done = cli("project.py", "export", archive, cwd=path)
    assert "export: 2 job(s) and 2 picture(s)" in done.stdout + done.stderr

    moved = tmp_path / "elsewhere.zip"  # the file alone: no project, no workspace
    shutil.copy(archive, moved)
    drawn = _report_from(moved, tmp_path / "out", tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    original = (path / "report" / "report.md").read_text(encoding="utf-8")
    redrawn = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "../workspace/" in original and "Orthoslices" in original
    assert redrawn == original.replace("../workspace/", "pictures/")
    for job in os.listdir(path / "workspace"):  # every linked picture is there, byte for byte
        picture = path / "workspace" / job / "orthoslice.png"
        assert (tmp_path / "out" / "pictures" / job / "orthoslice.png").read_bytes() == picture.read_bytes()
    figures = {f for f in os.listdir(path / "report") if f.endswith(".png")} - {"overview_bonds.png"}
    assert figures and figures <= set(os.listdir(tmp_path / "out"))

    cli("project.py", "export", archive, "--no-pictures", cwd=path)  # replaces the earlier export
    assert _report_from(archive, tmp_path / "bare", tmp_path).returncode == 0
    bare = (tmp_path / "bare" / "report.md").read_text(encoding="utf-8")
    assert "Orthoslices" not in bare and "![](" not in bare.replace("![](orthoslice", "")
    with zipfile.ZipFile(archive) as z:
        assert z.namelist() == [MEMBER]
        assert all("path" not in row for row in json.loads(z.read(MEMBER))["jobs"])


def _one_line_error(result, text):
    assert result.returncode != 0
    assert text in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_export_and_report_refuse_bad_input_in_one_line(tiny_project, tmp_path):
    path = tiny_project()

    def export(*args):
        return cli("project.py", "export", *args, cwd=path, check=False)

    _one_line_error(export("x.zip"), "no job of the 2 is analysed")
    _one_line_error(export("x.json"), "one file name ending in .zip")
    _one_line_error(export(), "one file name ending in .zip")
    assert export("--help").stdout.startswith("usage: python project.py export")

    notes = tmp_path / "notes.zip"
    notes.write_text("my notes", encoding="utf-8")
    _one_line_error(_report_from(notes, tmp_path / "out", tmp_path), "not a cubemc summaries archive")
    _one_line_error(_report_from(tmp_path / "missing.zip", tmp_path / "out", tmp_path), "No such file")
    with pytest.raises(ArchiveError, match="exists and is not a cubemc summaries archive"):
        write_archive([], notes)
    assert notes.read_text(encoding="utf-8") == "my notes"  # never overwritten

    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(newer, "w") as z:
        z.writestr(MEMBER, json.dumps({"format": "cubemc job summaries", "version": 99, "jobs": []}))
    _one_line_error(_report_from(newer, tmp_path / "out", tmp_path), "format version 99")
    escaping = tmp_path / "escaping.zip"
    row = {"id": "a", "summary": {"orthoslice_png": "pictures/../../etc/passwd"}}
    with zipfile.ZipFile(escaping, "w") as z:
        z.writestr(MEMBER, json.dumps({"format": "cubemc job summaries", "version": 1, "jobs": [row]}))
    with pytest.raises(ArchiveError, match="not of the form pictures/<job>/<file>"):
        read_archive(escaping, tmp_path / "pictures")


def test_a_failed_export_keeps_the_earlier_one(tmp_path):
    archive = tmp_path / "summaries.zip"
    rows = [{"id": "a", "statepoint": {"N": 8}, "summary": {"x": 1.0}, "path": "/scratch/a"}]
    assert write_archive(rows, archive, pending=3) == 0
    before = archive.read_bytes()

    def failing():  # the write stops half way (a full disk, a kill)
        yield rows[0]
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_archive(failing(), archive)
    assert archive.read_bytes() == before and os.listdir(tmp_path) == ["summaries.zip"]
    jobs, pending = read_archive(archive, tmp_path / "pictures")
    assert pending == 3 and jobs == [{"id": "a", "statepoint": {"N": 8}, "summary": {"x": 1.0}}]


def test_a_report_from_exported_parts_counts_each_job_once(finished_project, tmp_path):
    path, _ = finished_project
    whole = tmp_path / "whole.zip"
    cli("project.py", "export", whole, "--no-pictures", cwd=path)
    rows, pending = read_archive(whole, tmp_path / "unused")
    assert pending == 0 and len(rows) == 2
    first, second = rows
    # the same project run in two places, each place analysing one job
    write_archive([first], tmp_path / "part1.zip", pending=[second["id"]])
    write_archive([second], tmp_path / "part2.zip", pending=[first["id"]])

    def report(*parts):
        drawn = subprocess.run(
            [sys.executable, "-m", "cubemc.analysis.report", str(tmp_path / "out"), *map(str, parts)],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert drawn.returncode == 0, drawn.stderr
        return (tmp_path / "out" / "report.md").read_text(encoding="utf-8")

    full = report(whole)
    assert "Interim report" not in full
    assert report(tmp_path / "part1.zip", tmp_path / "part2.zip") == full
    assert report(tmp_path / "part2.zip", whole, tmp_path / "part1.zip") == full
    alone = report(tmp_path / "part1.zip", tmp_path / "part1.zip")  # the same part twice: one job
    assert "1 of 2 jobs analysed" in alone and "summaries_archive --pending" in alone
    merged, waiting = read_archives([tmp_path / "part1.zip", tmp_path / "part1.zip"], tmp_path / "p")
    assert [row["id"] for row in merged] == [first["id"]] and waiting == 1

    def holds(*args):  # what the parts hold, and which jobs are still to run
        command = [sys.executable, "-m", "cubemc.analysis.summaries_archive", *map(str, args)]
        return subprocess.run(
            command, cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=60
        )

    assert holds("--pending", "part1.zip").stdout.split() == [second["id"]]
    assert holds("--pending", "part1.zip", "part2.zip").stdout.split() == []
    told = holds("part1.zip", "part2.zip").stdout.splitlines()
    assert told == [
        "part1.zip: 1 job(s) analysed, 1 not",
        "part2.zip: 1 job(s) analysed, 1 not",
        "together: 2 job(s) analysed, 0 not",
    ]
    old = tmp_path / "old.zip"  # an export from before pending ids were stored
    with zipfile.ZipFile(old, "w") as z:
        z.writestr(
            MEMBER, json.dumps({"format": "cubemc job summaries", "version": 1, "jobs": [], "pending": 2})
        )
    _one_line_error(holds("--pending", "part1.zip", "old.zip"), "lists no pending job ids")
    assert holds("part1.zip", "old.zip").stdout.splitlines()[-1] == "together: 1 job(s) analysed, 3 not"
    _one_line_error(holds("part1.json"), "give export files ending in .zip")
    assert (
        holds("old.zip", "part1.zip").stdout.splitlines()[-1] == "together: 1 job(s) analysed, 3 not"
    )  # counts added
