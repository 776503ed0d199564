"""Base maps that work offline: one archive file of tiles (PMTiles v3 or MBTiles),
read here and served at ``/tiles/`` (``server.basemap.views``); the demo's own
base map drawn from its streets and households (``server.basemap.demo``).
docs/basemap.md says how an organization gets an archive of its area."""
