"""Rule families, one module each. `guard.lint.registry.RULE_MODULES` lists them."""
