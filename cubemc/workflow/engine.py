"""Engine selection: the operations talk to an *engine adapter*, never to a library directly.

Initial states come from :func:`initial_state` (cubemc.State builders) for every engine.
An adapter is any object with

* ``name`` (str) and ``version`` (str),
* ``new_simulation(state, *, beta_epsilon, well_range, seed, device)`` -> simulation,
* ``load_checkpoint(path, *, device)`` -> simulation,
* ``input_errors`` -- tuple of exception classes meaning "bad input" (reported, not retried),

where a *simulation* follows the ``cubemc.Simulation`` API of docs/engine-api.md (``tune``,
``run``, ``save_checkpoint``, ``sweep``, ``energy``, ``bonds``, ``acceptance``,
``move_sizes``, ``positions``, ``device``).

``CUBEMC_ENGINE=native`` (default) uses the ``cubemc`` package. ``CUBEMC_ENGINE=hoomd`` loads
the adapter class ``Engine`` from the module ``cubemc.hoomd_engine`` (HOOMD-blue HPMC, from
conda-forge); other adapters can be added with :func:`register_engine`.
"""

from __future__ import annotations

from . import eos, shape_keys
from .errors import EngineSelectionError


class NativeEngine:
    """Adapter for the ``cubemc`` Monte Carlo engine in this repository."""

    name = "native"

    def __init__(self):
        import cubemc

        self._mc = cubemc
        self.version = str(getattr(cubemc, "__version__", "unknown"))
        self.input_errors = tuple(
            err for err in (getattr(cubemc, "InputError", None), getattr(cubemc, "DeviceError", None)) if err
        )

    def new_simulation(self, state, *, beta_epsilon, well_range, seed, device):
        return self._mc.Simulation(
            state, beta_epsilon=beta_epsilon, well_range=well_range, seed=seed, device=device
        )

    def load_checkpoint(self, path, *, device):
        return self._mc.Simulation.from_checkpoint(path, device=device)


def initial_state(statepoint: dict, seed: int):
    """The cubemc.State a job starts from (the same for every engine)."""
    import cubemc

    if eos.is_npt(statepoint):  # compressed or expanded to the pressure (cubemc.npt)
        return eos.state_at_pressure(statepoint, seed)
    if shape_keys.is_shaped(statepoint):  # cuboids, rounded cubes, polydispersity (cubemc.lattices)
        return shape_keys.initial_state(statepoint, seed)
    if statepoint["initial_state"] == "crystal_vacancy":
        return cubemc.State.simple_cubic(
            n=statepoint["n_lattice"],
            packing_fraction=statepoint["packing_fraction"],
            vacancies=statepoint["vacancies"],
            seed=seed,
        )
    if statepoint["initial_state"] == "fluid":
        return cubemc.State.fluid(
            n_particles=statepoint["N"],
            packing_fraction=statepoint["packing_fraction"],
            seed=seed,
        )
    raise ValueError(f"unknown initial_state {statepoint['initial_state']!r}")


def _load_hoomd():
    """The HOOMD-blue adapter; its import_hoomd() is the one check that HOOMD is usable."""
    from cubemc.hoomd_engine import Engine

    return Engine()


_FACTORIES = {"native": NativeEngine, "hoomd": _load_hoomd}


def register_engine(name: str, factory) -> None:
    """Make ``CUBEMC_ENGINE=name`` build its adapter with ``factory()``."""
    _FACTORIES[name.lower()] = factory


def available_engines() -> list[str]:
    return sorted(_FACTORIES)


def get_engine(name: str = "native"):
    """Return the adapter for ``name``; raise :class:`EngineSelectionError` if unusable."""
    key = (name or "native").lower()
    if key not in _FACTORIES:
        raise EngineSelectionError(
            f"unknown engine {name!r} (CUBEMC_ENGINE); choose one of {', '.join(available_engines())}"
        )
    return _FACTORIES[key]()
