"""Tests of server/records: conflicts resolved on arrival."""
