"""signac-flow command line for cubemc: ``python project.py status -d | run | submit ...``.

Operations, conditions and labels live in ``cubemc/workflow/flowproject.py``; see
``README.md``. The project is found from the current directory upwards.
"""

import os

from cubemc.workflow.flowproject import main

if __name__ == "__main__":
    main(entrypoint=os.path.abspath(__file__))
