"""Web dashboard for a cubemc project: ``python dashboard.py run [--host 127.0.0.1 --port 8888]``.

Run it in (or below) the project directory. It prints a login URL with a token; see
README.md for SSH tunnels and ``CUBEMC_DASHBOARD_TOKEN``.
"""

import sys

from cubemc.workflow.dashboard import main

if __name__ == "__main__":
    sys.exit(main())
