"""Tests of server/web: the web apps' files."""
