"""migration-guard: make Postgres schema migrations safe to ship from trunk.

Kept import-light on purpose: `migration-guard --version` and `--help` must not
pay for sqlglot or psycopg. Import the library API from its modules
(`guard.lint.engine.lint_path`, `guard.layouts.discover`, ...).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
