"""A drizzle-kit project written the way drizzle-kit 0.31 writes one (for the Drizzle layout tests)."""

from __future__ import annotations

import json
from pathlib import Path

#: Two migrations as `drizzle-kit generate` writes them: `;` then a breakpoint line between statements.
INIT = """CREATE TABLE "users" (
\t"id" bigserial PRIMARY KEY NOT NULL,
\t"email" text NOT NULL,
\t"created_at" timestamp DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "posts" (
\t"id" bigserial PRIMARY KEY NOT NULL,
\t"author_id" bigint NOT NULL,
\t"body" text
);
--> statement-breakpoint
ALTER TABLE "posts" ADD CONSTRAINT "posts_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "posts_author_idx" ON "posts" USING btree ("author_id");"""

#: A custom migration (`drizzle-kit generate --custom`), with a function whose body holds `;`.
CUSTOM = """-- Custom SQL migration file, put your code below! --
CREATE FUNCTION touch_post() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.body := coalesce(NEW.body, '');
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER posts_touch BEFORE INSERT ON "posts" FOR EACH ROW EXECUTE FUNCTION touch_post();"""

WHEN = 1717000000000


def entry(idx: int, tag: str, when: int | None = None) -> dict[str, object]:
    """One journal entry as drizzle-kit writes it."""
    return {
        "idx": idx,
        "version": "7",
        "when": WHEN + idx if when is None else when,
        "tag": tag,
        "breakpoints": True,
    }


def write_journal(folder: Path, entries: list[dict[str, object]], dialect: str = "postgresql") -> Path:
    """`meta/_journal.json` with these entries (indented like drizzle-kit)."""
    path = folder / "meta" / "_journal.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": "7", "dialect": dialect, "entries": entries}, indent=2))
    return path


def write_project(root: Path, downs: bool = False) -> Path:
    """`<root>/drizzle` with two generated migrations, a custom one, snapshots and the journal."""
    folder = root / "drizzle"
    folder.mkdir(parents=True)
    tags = ["0000_sharp_lizard", "0001_touch_posts"]
    (folder / f"{tags[0]}.sql").write_text(INIT)
    (folder / f"{tags[1]}.sql").write_text(CUSTOM)
    for i, _ in enumerate(tags):
        (folder / "meta").mkdir(exist_ok=True)
        (folder / "meta" / f"{i:04d}_snapshot.json").write_text(
            json.dumps({"version": "7", "dialect": "postgresql"})
        )
    if downs:
        (folder / f"{tags[0]}.down.sql").write_text('DROP TABLE "posts";\nDROP TABLE "users";\n')
        (folder / f"{tags[1]}.down.sql").write_text(
            'DROP TRIGGER posts_touch ON "posts";\nDROP FUNCTION touch_post();\n'
        )
    write_journal(folder, [entry(i, t) for i, t in enumerate(tags)])
    return folder
