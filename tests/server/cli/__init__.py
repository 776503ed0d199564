"""Tests of server/cli: the blockwalk command as a user runs it."""
