"""Helpers shared by the workflow tests that run small jobs stage by stage."""

import gsd.hoomd

from cubemc.workflow.studies import make_statepoint

#: frame period of the small jobs (sweeps)
PERIOD = 20


def small_fluid_point(replica=0, production_sweeps=200):
    """64 cubes from a fluid at beta*eps -2: tuning 30, burn-in 40, frames every PERIOD sweeps."""
    return make_statepoint(
        initial_state="fluid",
        beta_epsilon=-2.0,
        packing_fraction=0.2,
        well_range=1.14,
        N=64,
        replica=replica,
        tune_sweeps=30,
        equilibration_sweeps=40,
        production_sweeps=production_sweeps,
        sample_period=PERIOD,
    )


def trajectory_frames(path):
    """(step, positions bytes, orientations bytes) of every frame: equal lists are equal runs."""
    with gsd.hoomd.open(str(path)) as traj:
        return [
            (int(f.configuration.step), f.particles.position.tobytes(), f.particles.orientation.tobytes())
            for f in traj
        ]
