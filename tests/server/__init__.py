"""Tests of server/, one folder per package (the end-to-end suites are tests/protocol, tests/reliability and tests/browser)."""
