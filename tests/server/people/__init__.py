"""Tests of server/people: the roster, its stores and the export log."""
