"""The cluster analysis on configurations made by the engine (issue 17, item 5).

An SC block equilibrated by the engine inside an attractive fluid must be found as one
crystallite of about its size and shape, with its own cubes; a freshly quenched fluid must be
classified as fluid; a chain of bonded cubes that turns at random is an aggregate, not a crystal.
"""

import numpy as np
import pytest
from cubemc.analysis.nucleation import CrystalClusters, classify_state
from cubemc.analysis.supraparticle import Supraparticle

import cubemc

BLOCK = 5
SPACING = 1.04


def embedded_block(n_fluid=400, packing_fraction=0.12, seed=3):
    """A 5 x 5 x 5 SC block (cubes 0..124) in the middle of a hard-cube fluid."""
    g = (np.arange(BLOCK) - (BLOCK - 1) / 2) * SPACING
    block = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    fluid = cubemc.State.fluid(n_particles=n_fluid, packing_fraction=packing_fraction, seed=seed)
    away = np.abs(fluid.positions).max(axis=1) > BLOCK * SPACING / 2 + 0.9
    pos = np.concatenate([block, fluid.positions[away]])
    q = np.concatenate([np.tile([1.0, 0, 0, 0], (len(block), 1)), fluid.orientations[away]])
    return cubemc.State(pos, q, fluid.box)


def test_engine_block_in_fluid_is_found_with_its_size_and_shape():
    sim = cubemc.Simulation(embedded_block(), beta_epsilon=-5.0, well_range=1.14, seed=11, device="cpu")
    sim.run(1500)
    pos, q, box = sim.positions, sim.orientations, sim.box
    cc = CrystalClusters().compute(box, pos, q)
    members = np.flatnonzero(cc.cluster_idx == 0)
    block = members[members < BLOCK**3]
    # The block's own cubes form the largest crystallite; fluid cubes that stuck to its faces
    # and sit on lattice sites may join it, but the rest of the fluid stays out.
    assert len(block) >= 0.9 * BLOCK**3
    assert BLOCK**3 * 0.9 <= cc.largest_cluster_size <= BLOCK**3 + 30
    assert cc.crystalline[BLOCK**3 :].mean() < 0.1
    assert cc.num_clusters <= 3 and (cc.cluster_sizes[1:] < 15).all()
    upos, uq, percolating = cc.cluster_configuration(0)
    assert not percolating
    sp = Supraparticle().compute(upos, uq)
    assert sp.extents[0] >= BLOCK - 1 and sp.extents[2] <= BLOCK + 1
    assert 1.0 < sp.lattice_constant < 1.14  # bonded neighbours sit inside the well
    assert sp.site_fraction > 0.95 and sp.inplane_fwhm_deg < 15.0
    verdict = classify_state(box, pos, q, 1.14)
    assert verdict["class"] == "crystal" and verdict["largest_crystalline"] == cc.largest_cluster_size


def test_engine_quenched_fluid_is_fluid():
    state = cubemc.State.fluid(n_particles=400, packing_fraction=0.3, seed=5)
    sim = cubemc.Simulation(state, beta_epsilon=-4.0, well_range=1.14, seed=5, device="cpu")
    sim.run(1500)
    verdict = classify_state(sim.box, sim.positions, sim.orientations, 1.14)
    assert verdict["class"] == "fluid"
    assert verdict["largest_crystalline"] < 10 and verdict["bonds_per_cube"] < 0.5
    assert verdict["bonds_per_cube"] == pytest.approx(sim.bonds / sim.N)


def test_random_bonded_chain_is_an_aggregate():
    """A self-avoiding walk of face-to-face cubes: bonded but never 4 crystal bonds per cube."""
    rng = np.random.default_rng(8)
    steps = np.concatenate([np.eye(3), -np.eye(3)]) * SPACING
    pos = [np.zeros(3)]
    while len(pos) < 60:
        trial = pos[-1] + steps[rng.integers(6)]
        # Inside the well only with the cube before it (diagonal neighbours at 1.47 are not).
        if len(pos) == 1 or np.linalg.norm(np.array(pos[:-1]) - trial, axis=1).min() > 1.2:
            pos.append(trial)
    pos = np.array(pos)
    box = np.full(3, 3 * np.ptp(pos, axis=0).max() + 10)
    verdict = classify_state(box, pos - pos.mean(axis=0), np.tile([1.0, 0, 0, 0], (60, 1)), 1.14)
    assert verdict == {
        "class": "aggregate",
        "largest_crystalline": 0,
        "largest_bonded": 60,
        "bonds_per_cube": pytest.approx(59 / 60),
        "crystalline_fraction": 0.0,
    }
