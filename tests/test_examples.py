"""The scripts in examples/ run on the public API (they back numbers in docs/validation.md)."""

import importlib.util

import pytest
from conftest import REPO


def _load(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_anneal_supraparticle_starts_from_the_shape_asked_for():
    anneal = _load("anneal_supraparticle")
    rows = anneal.main(["--shape", "cube", "--cubes", "64", "--sweeps", "40", "--frames", "2"])
    assert [r["sweep"] for r in rows] == [1000, 1020, 1040]
    assert rows[0]["extents"] == [4, 4, 4] and rows[0]["cuboidality"] > 0.95
    ball = anneal.sites("ball", 123)
    assert len(ball) == 123 and abs(ball.mean(axis=0)).max() < 0.5
    with pytest.raises(SystemExit, match="not a cube number"):
        anneal.main(["--shape", "cube", "--cubes", "100"])


def test_anneal_supraparticle_places_the_crystallite_in_a_vapour_without_overlaps():
    import argparse

    import numpy as np

    anneal = _load("anneal_supraparticle")
    args = argparse.Namespace(shape="cube", cubes=27, packing_fraction=0.1, vapour=0.1, box=12.0, seed=4)
    state = anneal.crystallite_in_vapour(args)  # cubemc.State refuses overlapping cubes
    block = anneal.sites("cube", 27) * anneal.SPACING
    np.testing.assert_allclose(state.positions[:27], block - block.mean(axis=0))
    assert 100 < state.N - 27 <= 173 and np.allclose(state.box, 12.0, atol=0.01)
