"""A report's inputs in one file: each analysed job's state point, summary and series, and the
pictures the report links to.

`python project.py export FILE.zip` writes it next to the runs (a cluster, a VM that will go);
`python -m cubemc.analysis.report OUTDIR FILE.zip` draws the same report from it anywhere, long
after the project and its trajectories are gone.  A zip file because the pictures are already
compressed and the JSON compresses tenfold; one JSON member because the report reads every row.
"""

from __future__ import annotations

import json
import os
import zipfile

from .jsonio import to_jsonable

__all__ = ["ArchiveError", "is_archive", "merge_rows", "read_archive", "read_archives", "write_archive"]

FORMAT = "cubemc job summaries"
VERSION = 1
MEMBER = "summaries.json"
PICTURE_KEYS = ("orthoslice_png", "crystallites_png")  # summary keys holding a picture's path
MACHINE_KEYS = ("path",)  # where the job lived: meaningless elsewhere


class ArchiveError(ValueError):
    """An archive that cannot be written or read; the message is one line."""


def is_archive(path) -> bool:
    """Whether `path` is a zip file with our summaries member (an export that may be replaced)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return MEMBER in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def write_archive(rows, path, *, pending=0, pictures=True, meta=None) -> int:
    """Write the job summaries `rows` (the report's input) to the zip file `path` atomically.

    pending: the project's jobs not analysed yet, a count or their ids (a report drawn from the
    archive says it is interim; with ids, reports drawn from several exports of one project count
    each job once).  pictures: store the pictures the summaries name (else their keys are dropped, so
    no report link dangles).  meta: extra provenance (creation time, package versions).  An
    existing file is replaced only if it is such an archive.  Returns the pictures stored.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not is_archive(path):
        raise ArchiveError(f"{path} exists and is not a cubemc summaries archive; choose another file name")
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise ArchiveError(f"there is no folder {os.path.dirname(os.path.abspath(path))} to write {path} in")
    tmp, stored = path + ".tmp", 0
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            jobs = []
            for row in rows:
                row, names = _portable(row, pictures)
                for name, source in names.items():
                    archive.write(source, name)
                stored += len(names)
                jobs.append(row)
            doc = {"format": FORMAT, "version": VERSION, "jobs": jobs}
            doc.update(_pending_fields(pending))
            doc.update(to_jsonable(meta or {}))
            archive.writestr(MEMBER, json.dumps(to_jsonable(doc), sort_keys=True, allow_nan=False))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):  # a failed write (full disk) leaves the earlier archive as it was
            os.remove(tmp)
    return stored


def _pending_fields(pending):
    if isinstance(pending, int):
        return {"pending": pending}
    ids = sorted(str(i) for i in pending)
    return {"pending": len(ids), "pending_ids": ids}


def _portable(row, pictures):
    """The row without machine paths, its pictures renamed into the archive; {name: source}."""
    row = {k: v for k, v in row.items() if k not in MACHINE_KEYS}
    summary, names = dict(row.get("summary") or {}), {}
    for key in PICTURE_KEYS:
        source = summary.pop(key, None)
        if pictures and source and os.path.isfile(source):
            name = f"pictures/{row['id']}/{os.path.basename(source)}"
            summary[key], names[name] = name, source
    row["summary"] = summary
    return row, names


def read_archive(path, picture_dir):
    """The job summaries and pending count stored in `path`; its pictures are written under
    `picture_dir` and the summaries point at them there.  Returns (rows, pending)."""
    doc = _read(path, picture_dir)
    return doc["jobs"], doc.get("pending", 0)


def read_archives(paths, picture_dir):
    """`read_archive` over several exports, e.g. of one project's jobs run in several places:
    each job counted once (a later file's row replaces an earlier one's), and a job pending in
    one export but analysed in another is not pending.  Returns (rows, pending)."""
    rows, pending, _ = _merge([_read(path, picture_dir) for path in paths])
    return rows, pending


def _merge(docs):
    """(rows, pending count, pending ids or None where an export lists no ids) of `docs`."""
    rows = merge_rows([row for doc in docs for row in doc["jobs"]])
    if any("pending_ids" not in doc for doc in docs):  # an older export: counts are all we know
        return rows, sum(doc.get("pending", 0) for doc in docs), None
    waiting = set().union(*(doc["pending_ids"] for doc in docs)) - {row.get("id") for row in rows}
    return rows, len(waiting), waiting


def merge_rows(rows):
    """The rows with one per job id, the last given for each, in the order of first appearance."""
    merged = {}
    for index, row in enumerate(rows):
        key = row.get("id", f"#{index}")  # a row without an id is its own job
        merged[key] = row
    return list(merged.values())


def _read(path, picture_dir=None):
    """The archive's document; its pictures written under `picture_dir` (None: left unread)."""
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            doc = json.loads(archive.read(MEMBER).decode("utf-8"))
            _check(doc, path)
            names = list(_picture_names(doc["jobs"]))
            pictures = {name: archive.read(name) for name in names} if picture_dir is not None else {}
    except OSError as error:
        raise ArchiveError(f"cannot read {path}: {error.strerror or error}") from None
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError) as error:
        if isinstance(error, ArchiveError):
            raise
        raise ArchiveError(f"cannot read {path}: not a cubemc summaries archive ({_why(error)})") from None
    if picture_dir is None:
        return doc
    for name, data in pictures.items():  # errors here are the output folder's (a full disk)
        target = os.path.join(picture_dir, *name.split("/")[1:])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(data)
    for row in doc["jobs"]:
        summary = row.get("summary") or {}
        for key in PICTURE_KEYS:
            if summary.get(key):
                summary[key] = os.path.abspath(os.path.join(picture_dir, *summary[key].split("/")[1:]))
    return doc


def _check(doc, path):
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("jobs"), list):
        raise ArchiveError(f"cannot read {path}: its {MEMBER} is not cubemc job summaries")
    if doc.get("version") != VERSION:
        raise ArchiveError(
            f"cannot read {path}: summaries format version {doc.get('version')}, this cubemc reads "
            f"version {VERSION}; use the cubemc that exported it"
        )


def _picture_names(jobs):
    """The archive members the summaries name as pictures, checked to stay inside pictures/."""
    for row in jobs:
        summary = row.get("summary") or {}
        for key in PICTURE_KEYS:
            name = summary.get(key)
            if not name:
                continue
            parts = name.split("/")
            if len(parts) != 3 or parts[0] != "pictures" or any(p in ("", ".", "..") for p in parts):
                raise ValueError(f"picture name {name!r} is not of the form pictures/<job>/<file>")
            yield name


def _why(error):
    if isinstance(error, KeyError):
        return f"no member {error.args[0]!r}" if error.args else "a member is missing"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


USAGE = (
    "usage: python -m cubemc.analysis.summaries_archive [--pending] FILE.zip [...]\n\n"
    "What the exports of one project hold: jobs analysed and not, per file and together; with\n"
    "--pending the ids of the jobs no export holds analysed, one per line (for project.py run -j)."
)


def main(argv=None):
    import sys

    from cubemc.cli_errors import run_reporting_errors

    argv = sys.argv[1:] if argv is None else list(argv)
    prog = "python -m cubemc.analysis.summaries_archive"
    if argv in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    ids_only = "--pending" in argv
    paths = [a for a in argv if a != "--pending"]
    if not paths or any(a.startswith("-") or not a.endswith(".zip") for a in paths):
        print(
            f"{prog}: error: give export files ending in .zip (got {' '.join(argv) or 'nothing'!r})",
            file=sys.stderr,
        )
        return 2

    def work():
        docs = [_read(path) for path in paths]
        rows, pending, waiting = _merge(docs)
        if ids_only and waiting is None:
            raise ArchiveError(
                "an export written before 2026-12-04 lists no pending job ids; export its project "
                "again, or compare `python project.py status` with the analysed jobs"
            )
        if ids_only:
            print("\n".join(sorted(waiting)))
            return
        for path, doc in zip(paths, docs):
            print(f"{path}: {len(doc['jobs'])} job(s) analysed, {doc.get('pending', 0)} not")
        if len(paths) > 1:
            print(f"together: {len(rows)} job(s) analysed, {pending} not")

    return run_reporting_errors(prog, work, user_errors=(ValueError,))


if __name__ == "__main__":
    raise SystemExit(main())
