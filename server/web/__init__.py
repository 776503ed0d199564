"""The HTTP edge: the front server (event loop, parked longpolls), CORS, health, the coordinator pages and the canvasser app's shell; their files are in static/."""
