"""analysis.crystal_type on synthetic configurations: perfect lattices with Gaussian
displacements of 0.06 nearest-neighbour distances are classified as what they are, random
positions as fluid (an independent answer: how the configurations were made)."""

import numpy as np
import pytest
from cubemc.analysis.crystal_type import CLASSES, classify_particles, frame_type


def lattice(kind, n):
    """(positions centred in the box, box, nearest-neighbour distance) of n^3 cells."""
    if kind == "hcp":  # ABAB stacking of triangular layers, unit spacing
        i, j, k = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
        x = i + 0.5 * (j % 2) + 0.5 * (k % 2)
        y = np.sqrt(3) / 2 * j + np.sqrt(3) / 6 * (k % 2)
        z = np.sqrt(2 / 3) * k
        return (
            np.stack([x, y, z], -1).reshape(-1, 3),
            np.array([n, n * np.sqrt(3) / 2, n * np.sqrt(2 / 3)]),
            1.0,
        )
    g = np.arange(n, dtype=float)
    base = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    if kind == "sc":
        return base, np.full(3, float(n)), 1.0
    offsets = ([0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5])
    return np.concatenate([base + o for o in offsets]), np.full(3, float(n)), np.sqrt(0.5)


@pytest.mark.parametrize("kind", ["sc", "fcc", "hcp"])
def test_noisy_lattices_are_recognised(kind):
    rng = np.random.default_rng(7)
    pos, box, nn = lattice(kind, 8 if kind != "fcc" else 6)
    pos = pos + rng.normal(0, 0.06 * nn, pos.shape)
    pos -= box * np.floor(pos / box) + box / 2
    cls, _ = classify_particles(box, pos)
    fractions = np.bincount(cls, minlength=len(CLASSES)) / len(pos)
    assert fractions[CLASSES.index(kind)] > 0.95, dict(zip(CLASSES, fractions, strict=True))
    assert frame_type(dict(zip(CLASSES, fractions, strict=True))) == kind


def test_random_positions_are_fluid():
    rng = np.random.default_rng(8)
    box = np.full(3, 8.0)
    pos = rng.uniform(-4, 4, (540, 3))
    cls, _ = classify_particles(box, pos)
    assert np.mean(cls == CLASSES.index("fluid")) > 0.99
    assert frame_type({"sc": 0.1, "fcc": 0.1, "hcp": 0.05, "fluid": 0.75}) == "fluid"
