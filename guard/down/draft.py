"""Draft the down migrations a project lacks, each proven by a round trip on a throwaway Postgres.

Migrations are applied in order on the throwaway database (as `verify` applies them). For each
one that needs a down (`guard.down.files.need`), with the catalog snapshots before and after
its up:

1. the draft by inversion (`guard.down.invert`), when every statement has an exact inverse;
2. else, or when that draft does not round-trip, the draft from the catalog difference
   (`guard.down.catalog`);
3. each draft is round-tripped before it is accepted: down (the schema must equal the
   snapshot before the up), then up again (it must equal the snapshot after). A draft that
   declares enum values irreversibly added is checked with those labels tolerated, and its
   up is not re-applied (it would add the value twice).

The round trip runs inside a transaction that is rolled back when both scripts can run in one
(the database is then back where the up left it, with no rebuild); otherwise it runs as
`verify` runs it, and a failure rebuilds the database up to that migration.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from guard.db.execute import StatementFailure
from guard.db.extensions import ServerLacksExtension
from guard.db.snapshot import Change, Snapshot, diff_snapshots
from guard.db.txplan import TransactionControlRefusal, statements_and_mode
from guard.down import files
from guard.down.catalog import NotDrafted, catalog_down
from guard.down.invert import NotInvertible, invert
from guard.down.result import DownResult, Draft
from guard.down.text import draft_text, unparsable
from guard.errors import InputError
from guard.model import Migration
from guard.parsing import split_statements
from guard.verify import VerifySession
from guard.verify_result import Timings

if TYPE_CHECKING:
    import psycopg

    from guard.config import Settings
    from guard.db.shadow import ThrowawayDatabase

#: Called with (done, total, migration id) as each migration that needs a down is drafted.
Progress = Callable[[int, int, str], None]


def draft_downs(
    db: ThrowawayDatabase,
    migrations: Sequence[Migration],
    settings: Settings,
    only: frozenset[str] | None = None,
    progress: Progress | None = None,
) -> DownResult:
    """Draft and round-trip a down for each migration (of `only`, when given) that needs one."""
    ordered = sorted(migrations, key=lambda m: m.version_key)
    result = DownResult(server=db.server.description)
    wanted = [i for i, m in enumerate(ordered) if (only is None or m.id in only) and files.need(m)]
    result.with_down = sum(1 for m in ordered if (only is None or m.id in only) and not files.need(m))
    started = time.perf_counter()
    session = VerifySession(db, settings, Timings())
    try:
        _walk(session, ordered, wanted, result, progress)
    except ServerLacksExtension as exc:
        result.environment_error = exc
        done = {d.id for d in result.drafts}
        for i in wanted:
            m = ordered[i]
            if m.id not in done:
                result.drafts.append(_refused(m, f"not reached: {exc.message}"))
    finally:
        session.close()
    position = {m.id: i for i, m in enumerate(ordered)}
    result.drafts.sort(key=lambda d: position[d.id])
    result.seconds = time.perf_counter() - started
    return result


def _refused(m: Migration, reason: str) -> Draft:
    return Draft(m.id, files.need(m) or "", "refused", reason=reason, target=files.target(m))


def _walk(
    s: VerifySession,
    ordered: Sequence[Migration],
    wanted: list[int],
    result: DownResult,
    progress: Progress | None,
) -> None:
    targets = set(wanted)
    last = max(wanted) if wanted else -1
    previous: Snapshot | None = None
    for i, m in enumerate(ordered[: last + 1]):
        if i not in targets:
            _, failure = s.apply(m, "up")
            previous = None
            if failure is not None:
                _stop(
                    ordered, wanted, i, f"up of {m.id} fails at line {failure.line}: {failure.error}", result
                )
                return
            continue
        if progress is not None:
            progress(len(result.drafts) + 1, len(wanted), m.id)
        if files.target(m) is None:
            result.drafts.append(_refused(m, f"the {m.layout} layout has no down migration convention"))
            _, failure = s.apply(m, "up")
            previous = None
        else:
            before = previous if previous is not None else s.snapshot()
            draft, previous, failure = _draft_one(s, ordered, i, before)
            result.drafts.append(draft)
        if failure is not None:
            _stop(ordered, wanted, i, f"up of {m.id} fails at line {failure.line}: {failure.error}", result)
            return


def _stop(ordered: Sequence[Migration], wanted: list[int], at: int, why: str, result: DownResult) -> None:
    done = {d.id for d in result.drafts}
    for i in wanted:
        if ordered[i].id in done:
            continue
        result.drafts.append(_refused(ordered[i], why if i == at else f"not reached: {why}"))


def _draft_one(
    s: VerifySession, ordered: Sequence[Migration], i: int, before: Snapshot
) -> tuple[Draft, Snapshot | None, StatementFailure | None]:
    """Draft, round-trip and accept (or refuse) the down of `ordered[i]`; the database ends after its up."""
    m = ordered[i]
    draft = Draft(m.id, files.need(m) or "", "refused", target=files.target(m))
    up_statements = split_statements(m.up_sql)[0]
    try:
        inversion = invert(up_statements)
        tries = ["inversion"]
    except NotInvertible as exc:
        inversion, tries = None, []
        draft.notes.append(f"not inverted: {exc}")
    tries += ["catalog", "catalog, columns replaced"]
    _, failure = s.apply(m, "up")
    if failure is not None:
        draft.reason = f"its up fails at line {failure.line}: {failure.error}"
        return draft, None, failure
    after = s.snapshot()
    seen: set[str] = set()
    for method in tries:
        if method == "inversion" and inversion is not None:
            statements, irreversible, enums = (
                inversion.statements,
                inversion.irreversible,
                inversion.enum_values_added,
            )
        else:
            try:
                found = catalog_down(
                    before, after, replace_columns=method != "catalog", signatures=routine_signatures(s.conn)
                )
            except NotDrafted as exc:
                draft.notes.append(f"catalog: {exc}")
                continue
            statements, irreversible, enums = found.statements, found.irreversible, found.enum_values_added
        if not statements and not irreversible:
            draft.notes.append(
                f"{method}: the up changes nothing the schema comparison sees, so there is nothing to undo"
            )
            continue
        text = draft_text(method.split(",")[0], statements, irreversible)
        if text in seen:
            continue  # no column changed type: the same draft as before
        seen.add(text)
        bad = unparsable(text)
        if bad is not None:
            draft.notes.append(f"{method}: the draft does not parse ({bad})")
            continue
        problem = _round_trip(s, ordered, i, text, before, after, tolerate_enums=bool(enums))
        if problem is None:
            draft.status = "irreversible" if enums else "verified"
            draft.method, draft.sql, draft.irreversible = method.split(",")[0], text, list(irreversible)
            return draft, after, None
        draft.notes.append(f"{method}: {problem}")
    draft.reason = "; ".join(draft.notes) or "no draft found"
    return draft, after, None


def routine_signatures(conn: psycopg.Connection) -> dict[str, str]:
    """Each routine's snapshot name -> its `regprocedure` form (argument types only, no names or
    modes), which `DROP FUNCTION` accepts and sqlglot reads."""
    rows = conn.execute(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '('"
        " || pg_get_function_identity_arguments(p.oid) || ')', p.oid::regprocedure::text"
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'"
    ).fetchall()
    return {str(name): str(signature) for name, signature in rows}


def _round_trip(
    s: VerifySession,
    ordered: Sequence[Migration],
    i: int,
    text: str,
    before: Snapshot,
    after: Snapshot,
    *,
    tolerate_enums: bool,
) -> str | None:
    """Run down (and up again) of the draft; None when the schema comes back, else what differs."""
    import psycopg

    m = dataclasses.replace(ordered[i], down_sql=text, down_path=files.target(ordered[i]))
    try:
        _, down_reason = statements_and_mode(m, "down", s.settings)
        _, up_reason = statements_and_mode(m, "up", s.settings)
    except TransactionControlRefusal as exc:
        return f"the draft cannot run: {exc.message}"
    if down_reason is None and up_reason is None:
        outcome: list[str | None] = []
        try:
            with s.conn.transaction() as tx:
                outcome.append(_steps(s, m, before, after, tolerate_enums))
                raise psycopg.Rollback(tx)
        except psycopg.Error as exc:  # the rollback itself failed: start over to be sure
            _rebuild(s, ordered, i)
            return f"the round trip broke the session ({exc})"
        return outcome[0] if outcome else "the round trip did not run"
    problem = _steps(s, m, before, after, tolerate_enums)
    if problem is not None or tolerate_enums:
        _rebuild(s, ordered, i)
    return problem


def _steps(
    s: VerifySession, m: Migration, before: Snapshot, after: Snapshot, tolerate_enums: bool
) -> str | None:
    _, failure = s.apply(m, "down")
    if failure is not None:
        return f"the draft fails at line {failure.line}: {failure.error}"
    changes = [c for c in diff_snapshots(before, s.snapshot()) if not (tolerate_enums and _enum_grew(c))]
    if changes:
        return "the down does not restore the schema: " + _describe(changes)
    if tolerate_enums:
        return None  # the up adds an enum value that is still there: it cannot run again
    _, failure = s.apply(m, "up")
    if failure is not None:
        return f"the up fails again after the draft, at line {failure.line}: {failure.error}"
    changes = diff_snapshots(after, s.snapshot())
    if changes:
        return "the up run again gives another schema: " + _describe(changes)
    return None


def _enum_grew(change: Change) -> bool:
    """An enum whose labels are the expected ones plus others (values `ADD VALUE` left behind)."""
    if change.kind != "enum" or change.change != "changed" or len(change.details) != 1:
        return False
    attr, expected, actual = change.details[0]
    return attr == "labels" and [v for v in (actual or []) if v in (expected or [])] == list(expected or [])


def _describe(changes: list[Change]) -> str:
    shown = [
        f"{c.label} {c.change}" + (f" ({c.describe_details()})" if c.details else "") for c in changes[:3]
    ]
    more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
    return "; ".join(shown) + more


def _rebuild(s: VerifySession, ordered: Sequence[Migration], upto: int) -> None:
    """Start from an empty database and apply every up to `upto` (after a round trip left it elsewhere)."""
    s.recreate()
    for j in range(upto + 1):
        _, failure = s.apply(ordered[j], "up")
        if failure is not None:
            raise InputError(
                f"rebuilding the throwaway database: up of {ordered[j].id} failed at line "
                f"{failure.line}: {failure.error}"
            )
