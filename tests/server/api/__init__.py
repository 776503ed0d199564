"""Tests of server/api: the REST API, endpoint by endpoint, and a fuzz of its OpenAPI spec."""
