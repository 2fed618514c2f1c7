"""The nucleation studies (issue 17), built from studies.Study (which this module cannot import
back): :func:`nucleation_studies` returns them for studies.STUDIES / QUICK_STUDIES.

``nucleation``: growth of SC crystallites where the scan finds them.  Scouting on 500 cubes
(docs/validation.md, nucleation): with the narrow well, dilute quenches (phi 0.2-0.35, beta*eps
-3.5 to -4.5) stay fluid for 10^5 sweeps (a 64-cube seed at phi 0.3, -4.5 neither grows nor
melts), while the dense fluid quenched to beta*eps -3 to -4 at phi 0.45-0.5 grows SC crystallites
of 100+ cubes within 10^5 sweeps.  A second branch runs 10^6 sweeps at phi 0.3, beta*eps -5, where
the quick scan's long runs nucleated slowly into one compact SP; a third, 2000 cubes at phi 0.3 and
beta*eps -4.75 for 3 x 10^6 sweeps, grows one SP of about 1100-1200 cubes per run (cuboidal,
0.77-0.86, in five of six runs; the sixth a bicrystal: docs/validation.md).

``nucleation-scan``: the state diagram.  Hard-cube fluids from dilute to near freezing, quenched
to attraction at sweep 0, for the narrow well (1.14) and a wider one (1.3, which binds at a
shallower depth: more of the pair's phase space is inside the well).  Each run's last frame is
classified (crystal / aggregate / fluid, analysis.nucleation.classify_state) and the report draws
the diagram (analysis.nucleation_report).  The full scan is for a cluster (1000 cubes, two
replicas, VMMC cluster moves); --quick is one run of 500 cubes per point, single-cube moves,
about an hour on two cores.
"""

from __future__ import annotations

import dataclasses

#: packing fractions of the scan: dilute suspension up to just below hard-cube freezing (~0.45-0.5)
SCAN_PACKING_FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
QUICK_SCAN_PACKING_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5)
#: well depths per well range (the wide well binds at shallower depths)
SCAN_DEPTHS = {1.14: (-3.0, -4.0, -5.0, -6.0), 1.3: (-2.0, -3.0, -4.0, -5.0)}
QUICK_SCAN_DEPTHS = {1.14: (-3.0, -4.0, -5.0), 1.3: (-2.0, -3.0, -4.0)}
#: VMMC cluster moves per cube and sweep in the full scan (lets bonded clusters move and rotate)
SCAN_CLUSTER_MOVES = 0.1


def nucleation_studies(study_class):
    """(NUCLEATION, NUCLEATION_QUICK, SCAN, SCAN_QUICK); `study_class` is studies.Study."""
    dense = study_class(
        name="nucleation",
        description="hard-cube fluid quenched to attraction; nucleation and growth of SC clusters",
        initial_state="fluid",
        beta_epsilon=(-3.0, -3.5, -4.0, -4.5),
        packing_fraction=(0.40, 0.45, 0.50),
        well_range=(1.14,),
        n_particles=(1000,),
        replicas=2,
        # Tuning happens at the quench conditions; the trajectory follows the system from there.
        tune_sweeps=500,
        equilibration_sweeps=0,
        production_sweeps=300000,
        sample_period=3000,
    )
    # Slow nucleation at lower supersaturation (the scan's long runs, docs/validation.md): at phi
    # 0.3 and beta*eps -5 one crystallite nucleated after 3.4 x 10^5 sweeps and grew into a
    # compact, aligned SP of 300 cubes by 10^6 sweeps, where the dense quenches grow ramified,
    # bent crystallites from many nuclei.
    slow = dataclasses.replace(
        dense, beta_epsilon=(-5.0,), packing_fraction=(0.3,), production_sweeps=1000000, sample_period=10000
    )
    # Cuboidal SPs (docs/validation.md): in 2000 cubes at phi 0.3 and beta*eps -4.75 one nucleus per
    # run grows to ~1100-1200 cubes by 2 x 10^6 sweeps and turns cuboidal (0.77-0.86) by 3 x 10^6
    # (five of six runs; one bicrystal).
    cuboidal = dataclasses.replace(
        slow, beta_epsilon=(-4.75,), n_particles=(2000,), production_sweeps=3000000, sample_period=20000
    )
    nucleation = dataclasses.replace(
        dense,
        beta_epsilon=(-3.0, -3.5, -4.0, -4.5, -4.75, -5.0),
        packing_fraction=(0.3, 0.40, 0.45, 0.50),
        n_particles=(1000, 2000),
        branches=(dense, slow, cuboidal),
    )
    quick = dataclasses.replace(
        dense,
        name="nucleation-quick",
        description="laptop demo of the nucleation study (500 cubes at phi 0.45 quenched to -4)",
        beta_epsilon=(-4.0,),
        packing_fraction=(0.45,),
        n_particles=(500,),
        replicas=1,
        tune_sweeps=200,
        production_sweeps=100000,
        sample_period=2000,
    )
    scan = _scan(
        dense,
        "nucleation-scan",
        "state diagram: fluids at phi 0.05-0.5 quenched to beta*eps -2 to -6, wells 1.14 and 1.3",
        SCAN_PACKING_FRACTIONS,
        SCAN_DEPTHS,
        vmmc_moves_per_particle=SCAN_CLUSTER_MOVES,
    )
    scan_quick = _scan(
        quick,
        "nucleation-scan-quick",
        "laptop scan (500 cubes, phi 0.1-0.5, one run per point, 10^5 sweeps, single-cube moves)",
        QUICK_SCAN_PACKING_FRACTIONS,
        QUICK_SCAN_DEPTHS,
    )
    return nucleation, quick, scan, scan_quick


def _scan(base, name, description, packing_fractions, depths, **fields):
    branches = tuple(
        dataclasses.replace(
            base, beta_epsilon=betas, well_range=(well,), packing_fraction=packing_fractions, **fields
        )
        for well, betas in depths.items()
    )
    every = sorted({b for betas in depths.values() for b in betas}, reverse=True)
    return dataclasses.replace(
        branches[0],
        name=name,
        description=description,
        beta_epsilon=tuple(every),
        well_range=tuple(depths),
        branches=branches,
    )
