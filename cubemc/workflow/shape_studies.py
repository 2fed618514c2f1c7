"""The nanocrystal-shape studies (issue 12), built from studies.Study (which this module cannot
import back): :func:`shape_studies` (from the vacancy study) returns them for studies.STUDIES / QUICK_STUDIES.

``vacancy-shapes``: the vacancy study (one vacancy in an SC crystal, beta*eps 0, -0.5, -1 and the
strong-attraction limit -3 that the spread is measured against) for
  - rounded cubes of outer edge 1 with rounding radius r = 0 (the unit cube), 0.05, 0.1, 0.2 at
    phi 0.80, and
  - 12 % polydisperse cubes (seed 003: 7.45 +- 0.89 nm) at phi 0.80, next to their monodisperse
    reference (the r = 0 cubes above, the same state points): a lattice that leaves the largest
    possible cube (size 1 + 2 * 0.12 = 1.24) room is capped at 0.542, so these crystals are
    compressed past it (cubemc.dense_crystal; shape_keys.DENSE_CRYSTAL_LIMITS).
``crystal-shapes``: hard particles from the cube (r = 0) to nearly a sphere (r = 0.45 of outer edge 1)
at fixed outer size, started as a compressed fluid at a density where hard cubes and hard
spheres both freeze (hard spheres melt at phi 0.545); which crystal grows is classified from the
last frames (analysis/crystal_type.py: Steinhardt order, freud).  Seed 002 finds face-centred
orthorhombic superlattices (a : b : c = 1 : 1.1 : 1.2) of quasi-spherical NCs, seed 003 simple-cubic
supercrystals of cubic NCs.  The full study is for a cluster; --quick runs here.
"""

from __future__ import annotations

import dataclasses

ROUNDING_RADII = (0.05, 0.1, 0.2)
POLYDISPERSITY = 0.12  # seed 003: 0.89 / 7.45
#: packing fraction of the polydisperse branch: the monodisperse one, reached by compression
#: (shape_keys.DENSE_CRYSTAL_LIMITS, docs/validation.md)
POLYDISPERSE_PACKING_FRACTION = 0.80
#: up to nearly a sphere (r = 0.5 would leave a zero core; r = 0.45: core 0.1, outer edge 1)
CRYSTAL_RADII = (0.0, 0.1, 0.2, 0.3, 0.4, 0.45)


def _rounded(r):
    return {} if r == 0 else {"shape": "rounded_cuboid", "rounding_radius": r}


def shape_studies(vacancy):
    """(full, quick) pairs of the vacancy-shapes and crystal-shapes studies."""
    rounded = dataclasses.replace(
        vacancy,
        name="vacancy-rounded",
        description="rounded cubes",
        beta_epsilon=(0.0, -0.5, -1.0, -3.0),
        replicas=2,
        shapes=tuple(_rounded(r) for r in (0.0, *ROUNDING_RADII)),
    )
    poly = dataclasses.replace(
        rounded,
        name="vacancy-polydisperse",
        description="polydisperse cubes",
        packing_fraction=(POLYDISPERSE_PACKING_FRACTION,),
        # the monodisperse reference is the rounded branch's r = 0 (the same state points)
        shapes=({"shape": "cuboid", "size_polydispersity": POLYDISPERSITY},),
    )
    description = (
        "vacancy localisation vs shape: rounded cubes r = 0-0.2 at phi 0.80 and 12 % polydisperse "
        "cubes (compressed past the lattice cap), all at phi 0.80, beta*eps 0, -0.5, -1 (and -3, the limit)"
    )
    vacancy_shapes = dataclasses.replace(
        rounded, name="vacancy-shapes", description=description, branches=(rounded, poly), shapes=()
    )
    # a few minutes on two cores: 6^3 sites, one short run per point
    sizes = {"tune_sweeps": 200, "equilibration_sweeps": 500, "production_sweeps": 3000, "sample_period": 100}
    quick_branches = tuple(
        dataclasses.replace(b, n_lattice=(6,), replicas=1, **sizes) for b in (rounded, poly)
    )
    vacancy_shapes_quick = dataclasses.replace(
        vacancy_shapes,
        name="vacancy-shapes-quick",
        description="laptop demo of vacancy-shapes (6^3 sites, short runs)",
        branches=quick_branches,
        n_lattice=(6,),
        **sizes,
    )
    crystal = dataclasses.replace(
        vacancy,
        name="crystal-shapes",
        description="which crystal grows from the hard fluid, cube (r = 0) to nearly a sphere (r = 0.45)",
        initial_state="fluid",
        beta_epsilon=(0.0,),
        packing_fraction=(0.56, 0.58),
        well_range=(1.14,),
        n_particles=(2000,),
        replicas=2,
        tune_sweeps=1000,
        # freezing first, then production frames of the grown crystal (a run that has not frozen
        # by then reads as fluid; analysis.shape_criteria calls that insufficient, not a disagreement)
        equilibration_sweeps=250000,
        production_sweeps=250000,
        sample_period=5000,
        shapes=tuple(_rounded(r) for r in CRYSTAL_RADII),
    )
    crystal_quick = dataclasses.replace(
        crystal,
        name="crystal-shapes-quick",
        description="laptop demo of crystal-shapes (250 particles, r = 0, 0.25, 0.45, phi 0.58)",
        packing_fraction=(0.58,),
        n_particles=(250,),
        replicas=1,
        tune_sweeps=200,
        # 2 x 10^4 sweeps left all three fluids fluid; 1.5 x 10^5 + 1.5 x 10^5: about 25 min on one
        # loaded core (docs/validation.md, shape section)
        equilibration_sweeps=150000,
        production_sweeps=150000,
        sample_period=5000,
        shapes=tuple(_rounded(r) for r in (0.0, 0.25, 0.45)),
    )
    return (vacancy_shapes, vacancy_shapes_quick), (crystal, crystal_quick)
