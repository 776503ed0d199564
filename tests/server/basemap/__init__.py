"""Tests of server/basemap: the tile archives and their endpoints."""
