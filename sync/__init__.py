"""The sync engine, free of Flask: revision trees, stores, changes feeds.

Imports none of ``server``, ``forms`` or ``schemas`` (checked by
import-linter in ``tests/test_layers.py``); policies and validators are
passed in as arguments.
"""
