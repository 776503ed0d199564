"""Geometry and maps: turfs' shapes, household lists, geotag checks and the asset map's index (DESIGN: Geotagging and maps)."""
