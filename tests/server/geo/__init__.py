"""Tests of server/geo: turfs, household lists, geotag checks."""
