"""Tests of sync/: revision trees, merges and stamps, channels, the store contract on every store, crash safety."""
