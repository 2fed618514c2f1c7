"""Vacancies in a simple-cubic crystal of cubes: site mapping, delocalisation and hops.

Every cube is assigned to its nearest site of a reference SC lattice that follows the drift
of the crystal; where two cubes claim one site (a crowded row of unequal cubes, which also leaves
an empty site that is no vacancy), one of them is re-seated along the shortest chain of cubes
toward an empty site (`cubemc.geometry.seat_on_lattice`, shared with the dense-crystal builder's
order check). A hard-cube vacancy is not a single empty site but a row of cubes along a
lattice axis that share one missing site (each is pushed part of the way into the hole), so
besides empty/doubly claimed sites we measure how many cubes are displaced and how long the
row is that the vacancy is spread over.
"""

import numpy as np

from cubemc.geometry import RESEAT_REACH, seat_on_lattice

from .geometry import lattice_sites, minimum_image, site_coords, site_index, wrap

__all__ = ["infer_cells", "LatticeVacancies", "VacancyTracker", "vacancy_series"]


def infer_cells(n_particles, box):
    """Cells per axis of the reference lattice: the smallest n^3 >= N, split by the box shape."""
    box = np.asarray(box, dtype=float)[:3]
    n_sites = int(np.ceil(n_particles ** (1.0 / 3.0) - 1e-9)) ** 3
    a = (np.prod(box) / n_sites) ** (1.0 / 3.0)
    return np.maximum(np.round(box / a).astype(int), 1)


def _circular_drift(positions, box, a):
    """Crystal offset from the reference sites, modulo one lattice constant per axis.

    The circular mean of the phases 2 pi (x - x_site)/a does not care which site a cube is
    closest to, so it works for any drift, even one of half a lattice constant.
    """
    origin = -box / 2 + a / 2
    phase = 2 * np.pi * (positions - origin) / a
    z = np.exp(1j * phase).mean(axis=0)
    return np.angle(z) * a / (2 * np.pi)


class LatticeVacancies:
    """Map one frame of cubes onto the drifting SC lattice.

    Args:
        box: (Lx, Ly, Lz) of the periodic box.
        n_cells: cells per axis of the reference lattice (int or 3 ints); inferred from
            `n_particles` when None (the smallest n^3 >= N, right for a crystal with a few
            vacancies).
        n_particles: used only to infer `n_cells`.
        displacement_fraction: a cube counts as displaced when its distance from its site
            exceeds this fraction of the lattice constant.
        refine_steps: passes of "subtract the mean displacement" after the first estimate.
        reseat_reach: how far (lattice constants) a cube crowding a site may be moved, along a
            chain, to relieve it (`cubemc.geometry.seat_on_lattice`); None: nearest sites only.

    After `compute(positions)`: `drift`, `sites` (drifted, wrapped), `site_of`, `occupancy`,
    `displacements` (cube minus site, minimum image), `empty_sites`, `double_sites`,
    `displaced` (bool per cube), `n_displaced`, `max_displacement` (units of a),
    `row_lengths` (per empty site), `row_length` (longest; 0 without an empty site, 1 for a
    vacancy localised on its site), `row_axis` and `row_sites` of the longest row, and the
    threshold-free `line_shift`: the largest (over empty sites and axes) total displacement,
    in units of a, of the cubes on a lattice line through the empty site toward it, counting
    up to `line_reach` sites each way (~0 for a localised vacancy, 1.2 for three cubes pushed
    0.4 a into the hole, about 1 for a vacancy shared evenly by a row of 5 sites), and
    `bulk_line_shift`, the same measure around occupied sites far from the vacancy (mean over
    four of them): the floor that thermal rattling alone gives.
    """

    def __init__(  # noqa: PLR0913 (the mapping's settings, by name)
        self,
        box,
        n_cells=None,
        n_particles=None,
        displacement_fraction=0.25,
        refine_steps=2,
        line_reach=4,
        reseat_reach=RESEAT_REACH,
    ):
        self.box = np.asarray(box, dtype=float)[:3]
        if n_cells is None:
            if n_particles is None:
                raise ValueError("give n_cells or n_particles")
            n_cells = infer_cells(n_particles, self.box)
        self.n_cells = np.broadcast_to(np.asarray(n_cells, dtype=int), (3,)).copy()
        self.a = self.box / self.n_cells
        self.reference_sites = lattice_sites(self.n_cells, self.box)
        self.displacement_fraction = float(displacement_fraction)
        self.refine_steps = int(refine_steps)
        self.line_reach = int(line_reach)
        self.reseat_reach = reseat_reach

    def _assign(self, positions, drift, reseat=False):
        # the nearest point of a rectangular lattice is the nearest one along each axis
        sites = wrap(self.reference_sites + drift, self.box)
        origin = -self.box / 2 + self.a / 2 + drift
        rel = (positions - origin) / self.a
        if reseat and self.reseat_reach is not None:
            site_of = seat_on_lattice(rel, self.n_cells, self.reseat_reach)
        else:
            site_of = site_index(np.rint(rel).astype(int), self.n_cells)
        disp = minimum_image(positions - sites[site_of], self.box)
        return sites, site_of, disp

    def compute(self, positions, drift_guess=None):
        """Analyse one frame. `drift_guess` (previous frame's drift) keeps site labels continuous."""
        pos = wrap(np.asarray(positions, dtype=float)[:, :3], self.box)
        drift = _circular_drift(pos, self.box, self.a)
        if drift_guess is not None:
            # Same offset modulo a, but the image nearest the previous frame's drift.
            drift = drift + self.a * np.round((np.asarray(drift_guess) - drift) / self.a)
        for _ in range(self.refine_steps):
            _, _, disp = self._assign(pos, drift)
            drift = drift + disp.mean(axis=0)
        # the drift comes from nearest sites (a re-seated cube is a few among many); the final
        # mapping relieves crowded sites
        self.sites, self.site_of, self.displacements = self._assign(pos, drift, reseat=True)
        self.drift = drift

        n_sites = len(self.sites)
        self.occupancy = np.bincount(self.site_of, minlength=n_sites)
        self.empty_sites = np.flatnonzero(self.occupancy == 0)
        self.double_sites = np.flatnonzero(self.occupancy >= 2)
        rel = self.displacements / self.a
        dist = np.linalg.norm(rel, axis=1)
        self.displaced = dist > self.displacement_fraction
        self.n_displaced = int(self.displaced.sum())
        self.max_displacement = float(dist.max()) if len(dist) else 0.0
        self._find_rows(rel)
        return self

    def _line_shift(self, centre, occupant, rel):
        """Largest (over axes) total displacement toward `centre` of the cubes on a lattice line
        through it, `line_reach` sites each way (fewer in a small box, so no cube counts twice)."""
        best = 0.0
        for axis in range(3):
            reach = min(self.line_reach, (self.n_cells[axis] - 1) // 2)
            if reach < 1:
                continue
            steps = np.concatenate([np.arange(1, reach + 1), -np.arange(1, reach + 1)])
            coords = np.repeat(np.asarray(centre)[None, :], len(steps), axis=0)
            coords[:, axis] += steps
            j = occupant[site_index(coords, self.n_cells)]
            on = j >= 0
            best = max(best, float(-(rel[j[on], axis] * np.sign(steps[on])).sum()))
        return best

    def _bulk_references(self):
        """Sites as far as the box allows from the first empty site, on no lattice line with it.

        Offsets of half a box in two or three coordinates, so the lines through them never
        meet the vacancy's row: their line shift is what thermal motion alone gives.
        """
        origin = site_coords(self.empty_sites[0] if len(self.empty_sites) else 0, self.n_cells)
        h = self.n_cells // 2
        offsets = ((h[0], h[1], 0), (h[0], 0, h[2]), (0, h[1], h[2]), (h[0], h[1], h[2]))
        return [origin + np.asarray(o) for o in offsets]

    def _find_rows(self, rel):
        """Longest axis-aligned run of displaced cubes pushed toward each empty site."""
        occupant = np.full(len(self.sites), -1)
        single = self.occupancy == 1
        occupant[self.site_of] = np.arange(len(self.site_of))
        occupant[~single] = -1
        self.row_lengths = []
        self.line_shift = 0.0
        best = (0, None, [])
        for e in self.empty_sites:
            c = site_coords(e, self.n_cells)
            best_e = (1, None, [int(e)])
            for axis in range(3):
                run = self._run_toward(c, axis, occupant, rel)
                if len(run) > best_e[0]:
                    best_e = (len(run), axis, run)
            self.line_shift = max(self.line_shift, self._line_shift(c, occupant, rel))
            self.row_lengths.append(best_e[0])
            if best_e[0] > best[0]:
                best = best_e
        self.row_length, self.row_axis, self.row_sites = best
        self.row_lengths = np.asarray(self.row_lengths, dtype=int)
        refs = self._bulk_references()
        self.bulk_line_shift = float(np.mean([self._line_shift(c, occupant, rel) for c in refs]))

    def _run_toward(self, c, axis, occupant, rel):
        """Sites of the empty site `c` plus the displaced cubes next to it along `axis` that
        are pushed mainly along the axis and toward it."""
        others = [k for k in range(3) if k != axis]
        run = [int(site_index(c, self.n_cells))]
        for step in (1, -1):
            for k in range(1, self.n_cells[axis]):
                if len(run) >= self.n_cells[axis]:
                    break
                cc = c.copy()
                cc[axis] += step * k
                s = int(site_index(cc, self.n_cells))
                j = occupant[s]
                if j < 0 or not self.displaced[j]:
                    break
                d = rel[j]
                if abs(d[axis]) < np.abs(d[others]).max() or d[axis] * step >= 0:
                    break
                run.append(s)
        return run


class VacancyTracker:
    """Run LatticeVacancies frame after frame with a continuous drift and count vacancy hops.

    A hop is a site that is empty now but was not empty in the previous frame; `series`
    holds per-frame lists (n_empty, n_double, n_displaced, row_length, line_shift,
    bulk_line_shift, max_displacement, hops, hop_count (cumulative), drift, empty_sites).
    """

    KEYS = (
        "n_empty",
        "n_double",
        "n_displaced",
        "row_length",
        "line_shift",
        "bulk_line_shift",
        "max_displacement",
        "hops",
        "hop_count",
        "drift",
        "empty_sites",
    )

    def __init__(self, box, n_cells=None, n_particles=None, displacement_fraction=0.25):
        self.lattice = LatticeVacancies(box, n_cells, n_particles, displacement_fraction)
        self.series = {k: [] for k in self.KEYS}
        self._prev_empty = None
        self._drift = None

    def compute(self, positions):
        lv = self.lattice.compute(positions, drift_guess=self._drift)
        self._drift = lv.drift
        empty = set(int(s) for s in lv.empty_sites)
        hops = 0 if self._prev_empty is None else len(empty - self._prev_empty)
        self._prev_empty = empty
        s = self.series
        s["n_empty"].append(int(len(lv.empty_sites)))
        s["n_double"].append(int(len(lv.double_sites)))
        s["n_displaced"].append(lv.n_displaced)
        s["row_length"].append(int(lv.row_length))
        s["line_shift"].append(lv.line_shift)
        s["bulk_line_shift"].append(lv.bulk_line_shift)
        s["max_displacement"].append(lv.max_displacement)
        s["hops"].append(hops)
        s["hop_count"].append(hops + (s["hop_count"][-1] if s["hop_count"] else 0))
        s["drift"].append([float(x) for x in lv.drift])
        s["empty_sites"].append(sorted(empty))
        return self


def vacancy_series(position_frames, box, n_cells=None, displacement_fraction=0.25):
    """Per-frame vacancy measures (dict of lists) for a sequence of (N, 3) position arrays."""
    tracker = None
    for pos in position_frames:
        if tracker is None:
            tracker = VacancyTracker(box, n_cells, len(pos), displacement_fraction)
        tracker.compute(pos)
    return tracker.series if tracker is not None else {k: [] for k in VacancyTracker.KEYS}
