"""Web dashboard for a cubemc project: ``python dashboard.py run [--host 127.0.0.1 --port 8888]``.

Run it in (or below) the project directory. It prints a login URL with a token; see
README.md for SSH tunnels and ``CUBEMC_DASHBOARD_TOKEN``.
"""

from cubemc.workflow.dashboard import make_dashboard

if __name__ == "__main__":
    make_dashboard().main()
