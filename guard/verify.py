"""Round-trip verification: prove each down migration undoes its up, schema and data, and that up runs again.

For each migration to verify, on a throwaway database:

1. snapshot the schema (and, with a data file, fingerprint table contents); apply up; snapshot;
2. apply down; the schema (and data) must equal the first snapshot;
3. apply up again; the schema (and data) must equal the second snapshot.

An up marked `-- guard: irreversible reason: <why>` is applied once and reported as
declared irreversible, without a round trip (its down, if any, is not run).

Migrations before the first one to verify are applied (up only) first. Scripts
run exactly as the runner runs them (`guard.db.apply.statements_and_mode`: one
transaction unless `CONCURRENTLY`, `VACUUM`, the `no-transaction` directive,
the layout or the `transaction` setting say otherwise). After a failed round
trip the database is rebuilt from scratch up to that migration, so every later
migration is still verified on the schema it would really meet.

The data file is loaded once, just before the first verified migration, or
after the migration named by `data_after` (needed when verifying from an empty
database: the data file's tables must exist).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guard import verify_findings as words
from guard.db.execute import StatementFailure, TransactionEnded, refuse_open_transaction, run_statements
from guard.db.extensions import ServerLacksExtension, extension_problem
from guard.db.snapshot import Change, Snapshot, data_fingerprint, diff_data, diff_snapshots, take_snapshot
from guard.db.txplan import TransactionControlRefusal, statements_and_mode
from guard.errors import ConfigError, InputError
from guard.lint.directives import declared_irreversible
from guard.model import Finding, Migration, Severity
from guard.parsing import split_statements
from guard.verify_result import Outcome, Timings, VerifyResult

#: The result types live in `guard.verify_result`; importable from here too.
__all__ = ["Outcome", "Timings", "VerifyOptions", "VerifyResult", "verify_migrations"]

if TYPE_CHECKING:
    import psycopg

    from guard.config import Settings
    from guard.db.shadow import ThrowawayDatabase

#: Most differences reported for one migration step; the rest are counted.
MAX_CHANGES = 25

Progress = Callable[[int, int, str, str], None]
#: Called with each migration's outcome and its findings as soon as they are known.
OutcomeSink = Callable[[Outcome, list[Finding]], None]


@dataclass
class VerifyOptions:
    """What to verify and with what data."""

    #: Ids of the migrations to verify; None = all of them.
    only: frozenset[str] | None = None
    data_sql: str | None = None
    data_name: str = "data file"
    #: Version after which the data file is loaded (default: before the first verified migration).
    data_after: str | None = None
    progress: Progress | None = None
    #: Streamed output: each outcome (with its findings) the moment the migration is done.
    on_outcome: OutcomeSink | None = None


class VerifySession:
    """The database under verification: connection, timings, rebuilds."""

    def __init__(self, db: ThrowawayDatabase, settings: Settings, timings: Timings) -> None:
        self.db, self.settings, self.timings = db, settings, timings
        self.conn = self._connect()

    def _connect(self) -> psycopg.Connection:
        from guard.db.connect import connect
        from guard.db.shadow import APPLICATION_NAME

        conn = connect(self.db.url, application_name=APPLICATION_NAME)
        conn.execute("SELECT set_config('statement_timeout', %s, false)", (self.settings.statement_timeout,))
        return conn

    def close(self) -> None:
        self.conn.close()

    def recreate(self) -> None:
        self.conn.close()
        self.db.recreate()
        self.conn = self._connect()

    def apply(self, migration: Migration, direction: str) -> tuple[bool, StatementFailure | None]:
        """Run up or down; returns (ran in one transaction, failure or None)."""
        # The runner's own decision, so verify applies each script exactly as a deploy would.
        try:
            statements, reason = statements_and_mode(migration, direction, self.settings)
        except TransactionControlRefusal as refused:
            return True, StatementFailure(refused.line, "", refused.detail, None, 0)
        transactional = reason is None
        started = time.perf_counter()
        try:
            if transactional:
                with self.conn.transaction():
                    run_statements(self.conn, statements, in_transaction=True)
            else:
                run_statements(self.conn, statements)
                refuse_open_transaction(self.conn, statements)
            return transactional, None
        except StatementFailure as exc:
            problem = extension_problem(self.conn, migration.id, direction, exc, "verification stopped there")
            if problem is not None:
                message, hint = problem
                raise ServerLacksExtension(
                    message,
                    f"verify ran on {self.db.server.description}: {hint}; or run verify with "
                    "--shadow docker (the official image carries contrib) or --shadow-url",
                ) from None
            return transactional, exc
        except TransactionEnded as ended:
            return transactional, StatementFailure(
                ended.line, ended.statement, str(ended), None, ended.completed
            )
        finally:
            self.timings.migrations += time.perf_counter() - started

    def snapshot(self) -> Snapshot:
        started = time.perf_counter()
        self.timings.snapshot_count += 1
        try:
            return take_snapshot(
                self.conn,
                exclude_schemas=(self.settings.history_schema,),
                marker_table=f"{self.settings.marker_schema}.{self.settings.marker_table}",
            )
        finally:
            self.timings.snapshots += time.perf_counter() - started

    def data(self, snapshot: Snapshot) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return data_fingerprint(self.conn, snapshot)
        finally:
            self.timings.data += time.perf_counter() - started

    def load_data(self, sql: str, name: str) -> None:
        started = time.perf_counter()
        try:
            with self.conn.transaction():
                run_statements(self.conn, split_statements(sql)[0])
        except StatementFailure as exc:
            raise InputError(
                f"{name}: line {exc.line}: {exc.error}",
                "the data file runs once before the first verified migration; if its tables do not "
                "exist yet, pass --data-after VERSION (the migration after which it can load)",
            ) from None
        finally:
            self.timings.data += time.perf_counter() - started


def verify_migrations(
    db: ThrowawayDatabase,
    migrations: Sequence[Migration],
    settings: Settings,
    options: VerifyOptions | None = None,
) -> VerifyResult:
    """Round-trip each migration (or those in `options.only`) on the empty database `db`."""
    opts = options or VerifyOptions()
    ordered = sorted(migrations, key=lambda m: m.version_key)
    result = VerifyResult(server=db.server.description)
    result.timings.server_start = db.server.start_seconds
    targets = [i for i, m in enumerate(ordered) if opts.only is None or m.id in opts.only]
    data_at = _data_point(ordered, targets, opts)
    session = VerifySession(db, settings, result.timings)
    try:
        _run(session, ordered, targets, data_at, opts, result)
    except ServerLacksExtension as exc:
        # What was verified so far stands; the rest waits for a server that has the extension.
        result.environment_error = exc
        seen = {o.id for o in result.outcomes}
        rest = [m for m in ordered if m.id not in seen]
        result.outcomes += [Outcome(m.id, "not-reached") for m in rest]
        result.notices.append(f"{len(rest)} migration(s) not verified: {exc.message}")
    finally:
        session.close()
    return result


def _data_point(ordered: Sequence[Migration], targets: list[int], opts: VerifyOptions) -> int | None:
    """Index of the migration before which the data file loads (len = after all), or None."""
    if opts.data_sql is None:
        return None
    if opts.data_after is None:
        return targets[0] if targets else len(ordered)
    for i, m in enumerate(ordered):
        if opts.data_after in (m.version, m.id):
            return i + 1
    raise ConfigError(
        f"--data-after {opts.data_after}: no such migration", "pass the version of an existing migration"
    )


def _run(
    s: VerifySession,
    ordered: Sequence[Migration],
    targets: list[int],
    data_at: int | None,
    opts: VerifyOptions,
    result: VerifyResult,
) -> None:
    target_set = set(targets)
    total = len(targets)
    done = 0
    previous: Snapshot | None = None

    def record(outcome: Outcome) -> None:
        result.outcomes.append(outcome)
        if opts.on_outcome is not None:
            opts.on_outcome(outcome, [f for f in result.findings if f.migration == outcome.id])

    def apply_prerequisite(i: int) -> bool:
        m = ordered[i]
        started = time.perf_counter()
        _, failure = s.apply(m, "up")
        seconds = time.perf_counter() - started
        if failure is not None:
            result.findings.append(words.up_fails(m, failure))
            record(Outcome(m.id, "failed", seconds))
            return False
        record(Outcome(m.id, "applied", seconds))
        return True

    def rebuild(upto: int) -> None:
        # A failed round trip left the database in a state no deploy would see: start over.
        started = time.perf_counter()
        s.recreate()
        for j in range(upto + 1):
            if data_at == j and opts.data_sql is not None:
                s.load_data(opts.data_sql, opts.data_name)
            _, failure = s.apply(ordered[j], "up")
            if failure is not None:
                raise InputError(
                    f"rebuilding the verification database: up of {ordered[j].id} failed at line "
                    f"{failure.line}: {failure.error}"
                )
        result.timings.rebuilds += time.perf_counter() - started

    for i, m in enumerate(ordered):
        if data_at == i and opts.data_sql is not None:
            s.load_data(opts.data_sql, opts.data_name)
            previous = None
        if i not in target_set:
            if not apply_prerequisite(i):
                _not_reached(result, ordered[i + 1 :], record)
                return
            previous = None
            continue
        done += 1
        if opts.progress is not None:
            opts.progress(done, total, m.id, "verifying")
        started = time.perf_counter()
        state = _round_trip(
            s,
            m,
            previous,
            data_at is not None and data_at <= i,
            result,
        )
        if state == "stop":
            record(Outcome(m.id, "failed", time.perf_counter() - started))
            _not_reached(result, ordered[i + 1 :], record)
            return
        failed = any(f.migration == m.id and f.severity >= Severity.ERROR for f in result.findings)
        record(Outcome(m.id, "failed" if failed else "ok", time.perf_counter() - started))
        if isinstance(state, Snapshot):
            previous = state
        else:
            rebuild(i)
            previous = None
    if data_at == len(ordered) and opts.data_sql is not None:
        s.load_data(opts.data_sql, opts.data_name)
    result.complete = True
    result.final_schema = previous if previous is not None else s.snapshot()


def _not_reached(result: VerifyResult, rest: Sequence[Migration], record: Callable[[Outcome], None]) -> None:
    for m in rest:
        record(Outcome(m.id, "not-reached"))
    if rest:
        result.notices.append(
            f"{len(rest)} later migration(s) not verified: an up migration failed, so the schema they "
            "expect does not exist"
        )


def _round_trip(
    s: VerifySession,
    m: Migration,
    before: Snapshot | None,
    with_data: bool,
    result: VerifyResult,
) -> Snapshot | str:
    """Verify one migration; returns the snapshot after the final up, `rebuild` or `stop`."""
    out = result.findings
    s0 = before if before is not None else s.snapshot()
    d0 = s.data(s0) if with_data else None
    _, failure = s.apply(m, "up")
    if failure is not None:
        out.append(words.up_fails(m, failure))
        return "stop"
    s1 = s.snapshot()
    d1 = s.data(s1) if with_data else None
    irreversible = declared_irreversible(m.up_sql, m.down_sql)
    if irreversible is not None:
        result.notices.append(
            f"{m.id}: declared irreversible ({irreversible}); up applied without a round trip"
        )
        return s1
    if m.down_sql is None or not m.down_sql.strip():
        if s.settings.require_down:
            out.append(words.down_missing(m))
        else:
            result.notices.append(f"{m.id}: no down migration; up applied without a round trip")
        return s1
    transactional, failure = s.apply(m, "down")
    if failure is not None:
        out.append(words.down_fails(m, failure))
        return s1 if transactional else "rebuild"
    s2 = s.snapshot()
    for change in _capped(diff_snapshots(s0, s2), m, result):
        out.append(words.down_changed(m, change))
    lost: set[str] = set()
    if d0 is not None:
        for dc in diff_data(d0, s.data(s2)):
            lost.add(dc.table)
            out.append(words.data_lost(m, dc))
    _, failure = s.apply(m, "up")
    if failure is not None:
        out.append(words.reapply_fails(m, failure))
        return "rebuild"
    s3 = s.snapshot()
    changes = diff_snapshots(s1, s3)
    for change in _capped(changes, m, result):
        out.append(words.reapply_changed(m, change))
    data_differs = False
    if d1 is not None:
        for dc in diff_data(d1, s.data(s3)):
            if dc.table in lost:
                continue  # already reported: the down lost it, so the re-applied up cannot match
            data_differs = True
            out.append(words.reapply_data(m, dc))
    # Lost data or a different schema: later migrations must meet the state a real deploy gives.
    return "rebuild" if changes or lost or data_differs else s3


def _capped(changes: list[Change], m: Migration, result: VerifyResult) -> list[Change]:
    if len(changes) > MAX_CHANGES:
        result.notices.append(f"{m.id}: {len(changes) - MAX_CHANGES} more differences not listed")
    return changes[:MAX_CHANGES]
