"""Create the signac project and its jobs: ``python init.py vacancy [--quick]``.

See ``python init.py --help`` and README.md. State points are validated as a whole
before anything is written; re-running with the same arguments changes nothing.
"""

import sys

from cubemc.workflow.init_cli import main

if __name__ == "__main__":
    sys.exit(main())
