"""Down migrations drafted for the ups that have none (or only an empty, no-op or stub one).

`draft_downs` (in `guard.down.draft`) walks the migrations on a throwaway Postgres and drafts
each missing down by inversion (`guard.down.invert`, the one module that reads statements) or
from the catalog difference (`guard.down.catalog`, `guard.down.ddl`), round-trips it, and
returns a `DownResult`; `guard.down.files` knows where each layout keeps downs and writes them.
"""
