"""Every CUDA kernel type-checks and compiles to PTX for real hardware (no GPU needed).

The CUDA simulator runs kernels as Python and accepts code that real CUDA rejects, so this test
compiles each kernel of every layout ("cell", "tile", "fused", see cubemc/gpu.py) and the VMMC
kernel (cubemc/gpu_vmmc.py) with NVVM for compute capability 8.0 (A100) and 9.0 (H100), and the
register-capped builds for 9.0.  It needs the CUDA compiler libraries from the `cuda13` extra
(numba-cuda[cu13]) and skips without them.
"""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import sys
    from types import SimpleNamespace
    import numba.cuda.dispatcher as dispatcher
    # compile_ptx asks the current device for its compute capability; there is no device here
    dispatcher.get_current_device = lambda: SimpleNamespace(compute_capability=(8, 0))
    from numba import cuda, types as t
    from cubemc import pairs, shapes, targets
    gpu = targets.gpu(shapes.cube, pairs.square_well)

    i64, f64, u64, i32 = t.int64, t.float64, t.uint64, t.int32
    def a(dt, nd):
        return t.Array(dt, nd, "C")
    signatures = {
        "_clear": (a(i64, 2),),
        "_assign": (a(f64, 3), a(f64, 2), a(i64, 2), a(u64, 1), a(i64, 1), i64,
                    a(i64, 2), a(i32, 3), a(i64, 1)),
        "_sort": (a(i64, 2), a(i32, 3)),
        "_update": (i64, a(i64, 1), a(i64, 1), a(f64, 3), a(f64, 3), a(f64, 3), a(f64, 2),
                    a(i64, 2), a(u64, 1), a(i64, 1), i64, a(i64, 2), a(i32, 3),
                    a(f64, 2), a(f64, 2), a(i64, 2)),
        "_trace": (a(i64, 2), a(i64, 2), i64),
        "_update_tiles": (i64, i64, a(i64, 1), a(i64, 1), a(f64, 3), a(f64, 3), a(f64, 3),
                          a(f64, 2), a(i64, 2), a(u64, 1), a(i64, 1), i64, a(i64, 2), a(i32, 3),
                          a(f64, 2), a(f64, 2), a(i64, 2)),
        "_fused": (i64, i64, a(i64, 1), a(i64, 1), a(f64, 3), a(f64, 3), a(f64, 3), a(f64, 2),
                   a(i64, 2), a(u64, 1), a(i64, 1), a(i64, 2), a(i32, 3), a(f64, 2), a(f64, 2),
                   a(i64, 2), a(i64, 2), a(i64, 1)),
    }
    for cc in ((8, 0), (9, 0)):
        for name, sig in signatures.items():
            ptx, _ = cuda.compile_ptx(getattr(gpu, name).py_func, sig, cc=cc)
            assert ".entry" in ptx, name
            print(name, cc, len(ptx))
    # register caps ("tile:8/128") compile the same functions with launch bounds
    for name in ("_update_tiles", "_fused"):
        bounds = (gpu.TILE_BLOCK, 65536 // (gpu.TILE_BLOCK * 128))
        ptx, _ = cuda.compile_ptx(getattr(gpu, name).py_func, signatures[name], cc=(9, 0),
                                  launch_bounds=bounds)
        assert ".minnctapersm" in ptx or ".maxntid" in ptx, name
    print("compiled", len(signatures))
    # the VMMC cluster moves (cubemc/gpu_vmmc.py): both layouts
    b1 = t.boolean
    vmmc_sig = (a(f64, 3), a(f64, 3), a(f64, 3), a(f64, 2), a(i64, 2),
                a(i64, 2), a(i64, 3), a(i64, 2), a(i64, 2), a(i64, 2), a(i64, 2),
                a(i64, 2), a(b1, 2), a(f64, 3), a(b1, 2), a(i64, 2), a(i64, 2), a(b1, 2), a(i64, 2),
                a(u64, 1), a(i64, 1), i64, a(f64, 2), a(f64, 2), a(i64, 2), a(i64, 2), a(i64, 2))
    gpu_vmmc = targets.specialise("gpu_vmmc", shapes.cube, pairs.square_well)
    for cc in ((8, 0), (9, 0)):
        for kernel in (gpu_vmmc._vmmc, gpu_vmmc._vmmc_block):  # one thread, a block per system
            ptx, _ = cuda.compile_ptx(kernel.py_func, vmmc_sig, cc=cc)
            assert ".entry" in ptx
    print("vmmc compiled")
""")

PROBE = textwrap.dedent("""
    from numba.cuda.cudadrv import nvvm, libs
    nvvm.NVVM()
    libs.get_libdevice()
""")


def test_cuda_kernels_compile_to_ptx():
    probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(
            "CUDA compiler libraries (NVVM, libdevice, NVRTC) not installed; "
            "pip install -e '.[cuda13]' provides them: " + probe.stderr.strip().splitlines()[-1][:200]
        )
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env={**os.environ, "NUMBA_FORCE_CUDA_CC": "8.0"},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "compiled 7" in proc.stdout and "vmmc compiled" in proc.stdout
