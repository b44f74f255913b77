"""Readers of what migrations declare (column types, nullability, NOT NULL checks), below the rules.

The lint context, the schema index and the rules read these facts; the rules judge them.
Nothing here imports `guard.lint.rules` (tests/test_import_layers.py checks it).
"""
