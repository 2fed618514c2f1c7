"""The claims of the seed papers that the report checks: a data table, not code.

Each row names the test in `analysis.criteria.TESTS` that judges it and the parameters of
that test; the numbers behind each choice are explained in docs/analysis.md. Claims that
our simulations cannot test carry the reason instead of a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .supraparticle import MIN_SP_CUBES

__all__ = ["Claim", "CLAIMS", "CLAIM_IDS", "ED_FWHM_DEG", "SHARED_SITES_MANY"]

#: in-plane rotational freedom of the NCs, FWHM and its error in degrees (seed 000, ED; an upper limit)
ED_FWHM_DEG = (9.6, 1.4)
#: "many lattice sites" / "a couple of sites": the boundary is a vacancy shared evenly by 3 sites
SHARED_SITES_MANY = 3


@dataclass(frozen=True)
class Claim:
    """One claim: where it comes from, what it says, and how we judge it."""

    id: str
    seed: str
    statement: str
    test: str | None = None
    parameters: dict = field(default_factory=dict)
    figure: str | None = None
    reason: str = ""


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "V1",
        "000",
        "βε = 0: the vacancy is delocalised over many lattice sites (a row along a principal axis)",
        "spread_at_least",
        {"beta_epsilon": 0.0, "sites": SHARED_SITES_MANY},
        "claim_V1.png",
    ),
    Claim(
        "V2",
        "000",
        "βε = −0.5: long delocalised vacancies are gone; the vacancy spreads over at most a couple of sites",
        "spread_at_most",
        {"beta_epsilon": -0.5, "sites": SHARED_SITES_MANY},
        "claim_V2.png",
    ),
    Claim(
        "V3",
        "000",
        "βε = −1: cubes next to the vacancy sit exclusively on lattice sites",
        "as_localised_as_limit",
        {"beta_epsilon": -1.0},
        "claim_V3.png",
    ),
    Claim(
        "E1",
        "000",
        "Vacancies in the supraparticles are localised on lattice sites, which points "
        "to attraction between the NCs",
        "attraction_localises",
        {},
        "delocalisation.png",
    ),
    Claim(
        "S1",
        "000",
        "SAXS Bragg peaks at 0.55, 0.78, 1.1, 1.23 nm⁻¹",
        "peaks_match",
        {"tolerance": 0.03},
        "intensity.png",
    ),
    Claim(
        "S2",
        "000",
        "Peak ratios 1 : √2 : 2 : √5 ({100},{110},{200},{210} of SC)",
        "peak_ratios",
        {"tolerance": 0.02},
        "intensity.png",
    ),
    Claim(
        "S3",
        "000",
        "NC–NC distance 11.4 ± 0.1 nm",
        reason="used to map σ to nm (a = 1.077 σ ↦ 11.4 nm, σ ≈ 10.6 nm), so not an independent check",
    ),
    Claim(
        "S4",
        "000",
        "{100} peak FWHM 0.378 nm⁻¹ / order over ~166 nm",
        reason="the periodic box, not a crystallite size, sets our peak width",
    ),
    Claim(
        "R1",
        "000",
        "In-plane rotational freedom: FWHM 9.6 ± 1.4° (ED, an upper limit)",
        "inplane_below_limit",
        {"limit_deg": ED_FWHM_DEG[0], "error_deg": ED_FWHM_DEG[1]},
        "orientation_fwhm.png",
    ),
    Claim(
        "F1",
        "000",
        "Vacancy fraction 3.3 % (bulk) / 5.5 ± 1.5 % (surface)",
        "sp_vacancies",
        {"bulk": 0.033, "surface": (0.055, 0.015), "min_size": MIN_SP_CUBES},
        "sp_history.png",
    ),
    Claim(
        "N1",
        "000 SI",
        "Supraparticles nucleate and grow from suspension once attraction is on",
        "clusters_grow",
        {"fraction": 0.1},
        "cluster_growth.png",
    ),
    Claim(
        "N2",
        "000 SI",
        "Supraparticles are cuboidal",
        "clusters_cuboidal",
        {"cuboidality": 0.75, "min_size": MIN_SP_CUBES},
        "sp_history.png",
    ),
    Claim(
        "O1",
        "002",
        "Quasi-spherical NCs form 1D stacks, then face-centred orthorhombic crystals",
        reason="different particles (quasi-spherical NCs)",
    ),
    Claim(
        "C1",
        "002",
        "Quasi-spherical NCs crystallise face-centred (orthorhombic, a : b : c = 1 : 1.1 : 1.2)",
        "close_packed_when_round",
        {"min_radius": 0.4},
        "crystal_shapes.png",
    ),
    Claim(
        "C2",
        "003",
        "Cubic NCs assemble into simple-cubic supercrystals",
        "sc_when_cubic",
        {"max_radius": 0.05},
        "crystal_shapes.png",
    ),
    Claim(
        "O2",
        "003",
        "Antisolvent/evaporation SC supercrystals (a = 12.3–17.0 nm, 7.39 nm)",
        reason="different NCs and assembly process",
    ),
)

CLAIM_IDS = tuple(c.id for c in CLAIMS)
