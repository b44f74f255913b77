"""`migration-guard fix`: rewrite the fixable findings of unmerged migrations into the safe sequence.

`plan_fixes` (guard.fix.plan) lints the folder and plans the file changes, `apply_plan` writes
them; `guard.fix.report` renders a plan as a unified diff and a summary. The SQL comes from the
writers in `guard.sql.safe_sql`.
"""
