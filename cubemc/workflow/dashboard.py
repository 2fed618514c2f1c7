"""signac-dashboard for a cubemc project (see ``dashboard.py`` at the repository root).

Job pages show the state point, the job document (engine, device, provenance, results), the
flow labels (stage and progress), the energy trace and snapshot written by ``analyse`` and
the job's files. The project page shows the schema, a stage count, and the figures in
``report/``.

Access: by default signac-dashboard prints a login URL with a random token. Set
``CUBEMC_DASHBOARD_TOKEN`` to choose the token, or to ``none`` to switch login off (only on a
single-user machine, bound to 127.0.0.1).
"""

from __future__ import annotations

import os
import socket
from collections import Counter

from signac_dashboard import Dashboard
from signac_dashboard.modules import (
    DocumentList,
    FileList,
    FlowStatus,
    ImageViewer,
    Navigator,
    Schema,
    StatepointList,
    TextDisplay,
)

from . import operations
from .analysis_bridge import to_json
from .eos import control_label
from .errors import WorkflowError
from .studies import describe


class CubemcDashboard(Dashboard):
    """Dashboard with short, physics-first job titles and a stable job order."""

    def job_title(self, job):
        sp = job.cached_statepoint
        text = (
            f"{sp.get('initial_state')}  beta_eps={sp.get('beta_epsilon')}  "
            f"{control_label(sp)}  N={sp.get('N')}  replica={sp.get('replica')}"
        )
        if sp.get("well_range") != 1.14:
            text += f"  well_range={sp.get('well_range')}"
        return text

    def job_sorter(self, job):
        sp = job.cached_statepoint
        return (
            str(sp.get("initial_state")),
            float(sp.get("packing_fraction", 0.0)),
            float(sp.get("pressure", 0.0)),
            int(sp.get("N", 0)),
            float(sp.get("well_range", 0.0)),
            -float(sp.get("beta_epsilon", 0.0)),
            int(sp.get("replica", 0)),
        )


def project_progress(project) -> str:
    """Text for the project page: how many jobs are in each stage."""
    counts = Counter(operations.stage_label(job).split(" ")[0] for job in project)
    order = ("new", "tuning", "equilibrating", "sampling", "sampled", "analysed", "damaged")
    parts = [f"{name}: {counts[name]}" for name in order if counts.get(name)]
    return f"{len(project)} jobs. " + ", ".join(parts) + ". " + report_status(project) + "."


def report_status(project) -> str:
    """Whether report/ is written and covers every job as analysed now (an interim report or
    newer analyses make it out of date)."""
    manifest = operations.report_manifest(project)
    if manifest is None:
        return "report: not written yet"
    if operations.report_is_current(*project):
        return "report: up to date"
    return (
        f"report: out of date (it covers {len(manifest[0])} of the {len(project)} jobs; "
        "`python project.py report` rewrites it from the jobs analysed now)"
    )


def job_description(job) -> str:
    return f"{describe(job.cached_statepoint)} | job {job.id} | {operations.stage_label(job)}"


def _measured(estimate, digits=4) -> str:
    if not isinstance(estimate, dict) or estimate.get("mean") is None:
        return "not measured"
    sem = estimate.get("sem")
    error = f" ± {sem:.{digits}g}" if sem else ""
    return f"{estimate['mean']:.{digits}g}{error} ({estimate.get('frames', 0)} frames)"


def equation_of_state(job) -> str:
    """The job's mean pressure and packing fraction with block-averaged errors (analyse writes
    them into the job document's summary); the one the state point fixes is marked."""
    eos = to_json(job.doc.get("summary") or {}).get("eos")
    if not eos:
        return "not analysed yet"
    sp = job.cached_statepoint
    pressure = "fixed " + str(sp["pressure"]) if "pressure" in sp else _measured(eos.get("pressure"))
    phi = (
        "fixed " + str(sp["packing_fraction"])
        if "packing_fraction" in sp
        else _measured(eos.get("packing_fraction"))
    )
    measured = f"; measured beta P sigma^3 {_measured(eos.get('pressure'))}" if "pressure" in sp else ""
    return f"beta P sigma^3: {pressure}; packing fraction: {phi}{measured}"


def default_modules():
    return [
        TextDisplay(name="Job", message=job_description),
        TextDisplay(name="Equation of state", message=equation_of_state),
        StatepointList(),
        FlowStatus(),
        ImageViewer(name="Energy trace", img_globs=["energy.png"]),
        ImageViewer(name="Snapshot", img_globs=["snapshot.png"]),
        ImageViewer(name="Orthoslices", img_globs=["orthoslice.png"]),
        ImageViewer(name="Crystallites", img_globs=["crystallites.png"]),
        DocumentList(max_chars=400),
        FileList(),
        Navigator(),
        TextDisplay(name="Progress", context="ProjectContext", message=project_progress),
        Schema(),
        ImageViewer(name="Report", context="ProjectContext", img_globs=["report/*.png"]),
    ]


def access_token_from_env(environ=None):
    """Token from ``CUBEMC_DASHBOARD_TOKEN``: unset -> random (default), 'none' -> no login."""
    environ = os.environ if environ is None else environ
    value = environ.get("CUBEMC_DASHBOARD_TOKEN")
    if value is None or value == "":
        return ...
    if value.lower() in ("none", "off", "no", "0"):
        return None
    return value


def make_dashboard(project_path=None, config=None):
    """Build the dashboard for the project at (or above) ``project_path``."""
    from .flowproject import CubemcProject

    try:
        project = CubemcProject.get_project(project_path)
    except LookupError:
        where = os.path.abspath(project_path or os.getcwd())
        raise WorkflowError(
            f"no signac project in {where} or above it; create one with: python init.py vacancy --quick"
        ) from None
    config = dict(config or {})  # never share signac-dashboard's mutable default
    token = access_token_from_env()
    if "ACCESS_TOKEN" not in config and token is not ...:
        config["ACCESS_TOKEN"] = token
    return CubemcDashboard(config=config, project=project, modules=default_modules())


def build_parser():
    from cubemc.cli_errors import OneLineArgumentParser

    parser = OneLineArgumentParser(
        prog="dashboard.py",
        description=("Web dashboard of the cubemc project in (or above) the current directory."),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="run")
    run = commands.add_parser("run", help="serve the dashboard", error_prog="dashboard.py")
    run.add_argument("--host", default="localhost", help="binding address (default localhost)")
    run.add_argument("--port", type=int, default=8888, help="port (default 8888)")
    run.add_argument("-d", "--debug", action="store_true", help="flask debug mode")
    run.add_argument("-p", "--profile", action="store_true", help="flask profiling")
    return parser


def check_port(host: str, port: int) -> None:
    """Refuse a port that cannot be listened on (signac-dashboard would silently move to
    another port than the URL it printed)."""
    if not 0 < port < 65536:
        raise WorkflowError(f"--port {port} is not a port number (1-65535)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise WorkflowError(
            f"cannot listen on {host}:{port} ({reason}); choose another --port or --host"
        ) from None


def main(argv=None) -> int:
    """``python dashboard.py run [--host H] [--port P]``; errors are one line on stderr."""
    from cubemc.cli_errors import run_reporting_errors

    from .flowproject import check_project

    args = build_parser().parse_args(argv)

    def work():
        check_port(args.host, args.port)
        dashboard = make_dashboard()
        check_project(dashboard.project)
        command = ["run", "--host", args.host, "--port", str(args.port)]
        command += ["--debug"] * args.debug + ["--profile"] * args.profile
        dashboard.main(command_args=command)

    return run_reporting_errors(
        "dashboard.py", work, user_errors=(WorkflowError,), interrupted_hint="the dashboard stopped"
    )
