"""Compression of a dilute hard-cube configuration to a target density without overlaps."""

from .errors import InputError

#: largest and smallest relative shrink of the box edge per attempt
MAX_STEP = 0.02
MIN_STEP = 1e-5


def compress_fluid(state, box_target, seed, max_sweeps=20000, device="cpu", sweeps_per_try=5):
    """Shrink the box isotropically to `box_target`, relaxing with hard-cube MC in between.

    Each attempt scales positions and box by the largest factor (<= MAX_STEP) that leaves no
    overlap; failing attempts halve the factor.  Scaling positions at fixed orientations is not a
    Monte Carlo move, so this only prepares a starting state, which must then be equilibrated.
    """
    from .simulation import Simulation

    sim = Simulation(state, beta_epsilon=0.0, well_range=1.0, seed=seed, device=device,
                     translate_size=0.2, rotate_size=0.2, _warn_well=False)
    step = MAX_STEP
    while sim.sweep < max_sweeps:
        cur = sim.state
        if cur.box[0] <= box_target * (1 + 1e-12):
            return cur
        sim.tune(sweeps_per_try, period=sweeps_per_try)
        cur = sim.state
        new_box = max(box_target, cur.box[0] * (1 - step))
        scaled = type(cur)(cur.positions * (new_box / cur.box[0]), cur.orientations,
                           [new_box] * 3, check=False)
        try:
            fits = scaled.count_pairs()[1] == 0
        except InputError:
            fits = False
        if fits:
            sweep = sim.sweep
            sim = sim.with_state(scaled)
            sim.sweep = sweep
            step = min(MAX_STEP, step * 1.5)
        else:
            step = max(MIN_STEP, step / 2)
    phi = state.N / sim.state.volume
    raise InputError(f"could not compress {state.N} cubes to packing fraction "
                     f"{state.N / box_target ** 3:.4f} within {max_sweeps} sweeps (reached "
                     f"{phi:.4f}); lower the packing fraction or raise max_sweeps")
