"""numba-cuda 0.30 overloads np.row_stack when its CUDA target is imported, and NumPy 2.5 removed
that alias (the H200 machine of 2026-12-04 had exactly this pair: every GPU kernel failed to
compile).  `import cubemc` restores the alias; this reproduces NumPy 2.5 by deleting it."""

import subprocess
import sys

SCRIPT = """
import numpy as np
del np.row_stack  # as in NumPy 2.5
{first}
import numba.cuda.np.arrayobj  # what the CUDA target imports when a kernel is compiled
print("imported")
"""


def _run(first):
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(first=first)], capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def test_numba_cuda_imports_under_numpy_without_row_stack_after_cubemc():
    code, out = _run("import cubemc")
    assert code == 0 and "imported" in out, out[-2000:]


def test_the_removed_alias_really_breaks_numba_cuda_without_cubemc():
    """The control: while numba-cuda's source overloads np.row_stack, the import fails without
    cubemc first, so the test above can fail (a numba-cuda that dropped it imports either way,
    and then the alias in cubemc/__init__.py can go)."""
    import importlib.util
    from pathlib import Path

    source = Path(importlib.util.find_spec("numba_cuda").submodule_search_locations[0])
    overloads = "np.row_stack" in (source / "numba/cuda/np/arrayobj.py").read_text()
    code, out = _run("")
    if overloads:
        assert code != 0 and "row_stack" in out, out[-2000:]
    else:
        assert code == 0, out[-2000:]
