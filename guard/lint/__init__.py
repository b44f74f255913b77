"""Static analysis of migrations: rule registry, per-file context, suppressions and the engine."""
