"""Tell "this server lacks an extension" apart from a migration's own failure.

A migration that runs `CREATE EXTENSION pgcrypto` on a server built without it fails
for the server's reason, not the migration's: the runner and `verify` turn that into
an environment error (exit 2) naming the extension, never a migration failure.
"""

from __future__ import annotations

import re

from guard.errors import DatabaseError

#: Postgres 16+: `extension "x" is not available` (0A000); before: the control file (58P01);
#: a control file without its library: `could not access file "$libdir/x"` (58P01).
_PATTERNS = (
    re.compile(r'extension "([^"]+)" is not available'),
    re.compile(r'could not open extension control file "[^"]*?([^/"\\]+)\.control"'),
    re.compile(r'could not access file "\$libdir/([^"]+)"'),
)


class MissingExtensionError(DatabaseError):
    """The server lacks an extension a migration needs (an environment problem; exit 2)."""

    def __init__(self, extension: str, where: str, hint: str) -> None:
        super().__init__(
            f"{where}: the server has no extension {extension!r} (a migration runs CREATE EXTENSION "
            f"{extension}); this is the server's environment, not a defect of the migration",
            hint,
        )
        self.extension = extension


def missing_extension(error: str) -> str | None:
    """The extension a Postgres error says is missing from the server, or None."""
    for pattern in _PATTERNS:
        if match := pattern.search(error):
            return match.group(1)
    return None
