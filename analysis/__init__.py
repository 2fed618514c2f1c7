"""Analysis of cubemc trajectories: vacancies, orientation, scattering, nucleation, reports.

Modules (import them directly; this package imports nothing heavy on its own):
  geometry      quaternions, the cube rotation group, SC lattice sites, periodic helpers
  vacancy       cube-to-site mapping with drift, empty/double sites, delocalised rows, hops
  orthoslice    Figure-4-style slices through the vacancy (matplotlib, Agg)
  orientation   cubatic order, misorientation, in-plane angles, FWHM
  scattering    S(q), cube form factor P(q), I(q), peak finding, nm^-1 mapping
  nucleation    crystalline cubes, SC clusters, cluster shape
  trajectory    one GSD trajectory -> per-frame series + summary (JSON-ready)
  report        many job summaries -> figures + report.md
  stats         time and replica averages
  synthetic     configurations with known answers, GSD writer in the cubemc format
"""
