"""Small git helpers for the CI gate: repository root, merge base, files at a commit, when a file
reached a branch, shallow clones.

Everything runs `git` as a subprocess with `GIT_TERMINAL_PROMPT=0` (a fetch must
never hang waiting for a password) and `LC_ALL=C` (messages we match on stay in
English). Blobs are read through ONE `git cat-file --batch` process, so reading a
thousand migrations at the base costs one process, not a thousand.

`GitMissing` means change-set rules cannot run at all (no git binary, not a
repository): the caller skips them with a notice. Any other failure is a
`GuardError`: the base was asked for, so not being able to read it is a refusal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from guard.errors import InputError

#: How far `ensure_merge_base` deepens a shallow clone before asking for the full history.
DEEPEN_STEPS = (50, 200, 1000)
FETCH_TIMEOUT_SECONDS = 120.0


class GitMissing(Exception):
    """git is not installed, or the folder is not inside a git work tree."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"})
    return env


def run_git(
    root: Path,
    args: Sequence[str],
    *,
    input: bytes | None = None,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[bytes]:
    """Run `git -C root <args>` and return the completed process (never raises on exit status)."""
    exe = shutil.which("git")
    if exe is None:
        raise GitMissing("git is not installed (or not on PATH)")
    try:
        return subprocess.run(
            [exe, "-C", str(root), *args],
            input=input,
            capture_output=True,
            env=_env(),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InputError(
            f"`git {' '.join(args[:2])}` took longer than {timeout:.0f}s",
            "check the network and the remote, or fetch the base branch before running the gate",
        ) from None


def _stderr(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = proc.stderr.decode("utf-8", "replace").strip()
    return text.splitlines()[-1] if text else f"exit status {proc.returncode}"


def repo_root(path: Path) -> Path:
    """The top of the git work tree holding `path`; `GitMissing` when there is none."""
    start = path if path.is_dir() else path.parent
    proc = run_git(start, ["rev-parse", "--show-toplevel"])
    if proc.returncode != 0:
        message = _stderr(proc)
        if "not a git repository" in message:
            raise GitMissing(f"{path} is not inside a git repository")
        if "dubious ownership" in message:
            raise InputError(
                f"git refuses to read the repository holding {path}: {message}",
                "mark it safe: `git config --global --add safe.directory <repo>` (in containers, the checkout is owned by another user)",
            )
        raise InputError(f"git cannot read the repository holding {path}: {message}")
    return Path(proc.stdout.decode().strip())


def is_shallow(root: Path) -> bool:
    """True for a shallow clone (CI checkouts usually are: `actions/checkout` fetches depth 1)."""
    proc = run_git(root, ["rev-parse", "--is-shallow-repository"])
    return proc.returncode == 0 and proc.stdout.strip() == b"true"


def resolve_commit(root: Path, ref: str) -> str | None:
    """The commit sha `ref` names, or None when it does not resolve."""
    if ref.startswith("-"):
        raise InputError(f"--base {ref!r} is not a git ref", "pass a branch, tag or commit, e.g. origin/main")
    proc = run_git(root, ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"])
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def merge_base(root: Path, a: str, b: str = "HEAD") -> str | None:
    """The best common ancestor of `a` and `b`, or None when the history does not reach one."""
    proc = run_git(root, ["merge-base", a, b])
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def _remote_of(root: Path, ref: str) -> tuple[str, str] | None:
    """(`origin`, `main`) for `origin/main` when `origin` is a configured remote."""
    proc = run_git(root, ["remote"])
    if proc.returncode != 0:
        return None
    remotes = proc.stdout.decode().split()
    for remote in remotes:
        prefix = remote + "/"
        for candidate in (ref, ref.removeprefix("refs/remotes/")):
            if candidate.startswith(prefix) and len(candidate) > len(prefix):
                return remote, candidate[len(prefix) :]
    return None


def _fetch(root: Path, args: Sequence[str]) -> bool:
    proc = run_git(root, ["fetch", "--quiet", "--no-tags", *args], timeout=FETCH_TIMEOUT_SECONDS)
    return proc.returncode == 0


@dataclass(frozen=True)
class BaseRef:
    """Where a change forked from its base branch, and where that branch is now."""

    merge_base: str
    tip: str
    #: What had to be fetched to get here (shown as notices).
    notes: tuple[str, ...] = ()


def ensure_merge_base(root: Path, base: str, *, fetch: bool = True) -> BaseRef:
    """The merge base of `base` and HEAD, fetching what a shallow CI clone lacks.

    Raises `InputError` with the depth to configure when the history cannot be completed.
    """
    notes: list[str] = []
    tip = resolve_commit(root, base)
    if tip is None:
        remote = _remote_of(root, base) if fetch else None
        if remote is not None:
            name, branch = remote
            if _fetch(root, ["--depth=1", name, f"+refs/heads/{branch}:refs/remotes/{name}/{branch}"]):
                notes.append(f"fetched {base} (it was not in this clone)")
        tip = resolve_commit(root, base)
        if tip is None:
            raise InputError(
                f"--base {base}: no such branch, tag or commit in this clone",
                "fetch it first (`git fetch origin main`), or in GitHub Actions use actions/checkout with `fetch-depth: 0`",
            )
    found = merge_base(root, tip)
    if found is not None:
        return BaseRef(found, tip, tuple(notes))
    if not is_shallow(root):
        raise InputError(
            f"HEAD and {base} have no common ancestor",
            "pass the branch this change will merge into, e.g. --base origin/main",
        )
    remote = _remote_of(root, base) if fetch else None
    if remote is not None:
        name, branch = remote
        refspec = f"+refs/heads/{branch}:refs/remotes/{name}/{branch}"
        head = resolve_commit(root, "HEAD") or "HEAD"
        for depth in DEEPEN_STEPS:
            # Deepen both sides: the base branch and the commit under test (servers such as
            # GitHub serve any reachable sha; fall back to the branch alone if this one does not).
            if not _fetch(root, [f"--deepen={depth}", name, refspec, head]) and not _fetch(
                root, [f"--deepen={depth}", name, refspec]
            ):
                break
            found = merge_base(root, base)
            if found is not None:
                notes.append(f"deepened the shallow clone by {depth} commits to find the merge base")
                return BaseRef(found, resolve_commit(root, base) or tip, tuple(notes))
        if _fetch(root, ["--unshallow", name, refspec]):
            found = merge_base(root, base)
            if found is not None:
                notes.append("fetched the full history (--unshallow) to find the merge base")
                return BaseRef(found, resolve_commit(root, base) or tip, tuple(notes))
    raise InputError(
        f"this is a shallow clone and the merge base of HEAD and {base} is not in it",
        "fetch the full history: in GitHub Actions set `fetch-depth: 0` on actions/checkout, "
        "elsewhere run `git fetch --unshallow` (or `git fetch --deepen=N` with N at least the commits on this branch)",
    )


def list_files(root: Path, commit: str, folder: str) -> dict[str, str]:
    """`{path relative to folder (posix): blob sha}` for every file under `folder` at `commit`.

    `folder` is relative to the repository root ("" for the root itself).
    """
    args = ["ls-tree", "-r", "-z", "--full-tree", commit]
    if folder:
        args += ["--", folder.rstrip("/") + "/"]
    proc = run_git(root, args)
    if proc.returncode != 0:
        raise InputError(f"git cannot list {folder or '.'} at {commit[:12]}: {_stderr(proc)}")
    prefix = (folder.rstrip("/") + "/") if folder else ""
    out: dict[str, str] = {}
    for entry in proc.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, sha = meta.decode().split()
        if kind != "blob" or mode == "120000":  # symlinks and submodules are not migrations
            continue
        path = raw_path.decode("utf-8", "surrogateescape")
        out[path[len(prefix) :]] = sha
    return out


def changed_since(root: Path, commit: str, folder: str) -> set[str]:
    """Paths under `folder` (relative to it, posix) whose working-tree content differs from `commit`.

    Covers committed, staged and unstaged edits and deletions of tracked files; git
    compares through its own filters (so a `core.autocrlf` checkout is not a change)
    and skips files whose stat data is unchanged, which keeps this fast on big folders.
    """
    args = ["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", commit]
    if folder:
        args += ["--", folder.rstrip("/") + "/"]
    proc = run_git(root, args)
    if proc.returncode != 0:
        raise InputError(f"git cannot compare the working tree with {commit[:12]}: {_stderr(proc)}")
    prefix = (folder.rstrip("/") + "/") if folder else ""
    return {
        path[len(prefix) :]
        for raw in proc.stdout.split(b"\0")
        if raw and (path := raw.decode("utf-8", "surrogateescape")).startswith(prefix)
    }


def read_blobs(root: Path, shas: Iterable[str]) -> dict[str, bytes]:
    """The contents of many blobs through one `git cat-file --batch` process."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return {}
    proc = run_git(root, ["cat-file", "--batch"], input=("\n".join(wanted) + "\n").encode())
    if proc.returncode != 0:
        raise InputError(f"git cannot read file contents: {_stderr(proc)}")
    data, pos, out = proc.stdout, 0, {}
    for sha in wanted:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        if len(header) < 3 or header[1] == b"missing":
            raise InputError(
                f"git object {sha[:12]} is missing from this clone", "fetch the base branch again"
            )
        size = int(header[2])
        out[sha] = data[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1  # content is followed by a newline
    return out


def file_at(root: Path, commit: str, path: str) -> bytes | None:
    """One file's bytes at `commit` (path relative to the repository root), or None when absent."""
    proc = run_git(root, ["cat-file", "blob", f"{commit}:{path}"])
    return proc.stdout if proc.returncode == 0 else None


def _shallow_boundary(root: Path) -> set[str]:
    """Commits at the edge of a shallow clone: git shows them as adding every file they hold."""
    proc = run_git(root, ["rev-parse", "--git-path", "shallow"])
    if proc.returncode != 0:
        return set()
    path = Path(proc.stdout.decode().strip())
    try:
        text = (path if path.is_absolute() else root / path).read_text()
    except OSError:
        return set()
    return set(text.split())


def _first_added(root: Path, tip: str, path: str) -> tuple[str, int] | None:
    """(sha, committer time) of the oldest commit on `tip`'s first-parent line that added `path`.

    First parents only: on the base branch the commit that brought a file in is the merge
    (or squash, or rebased) commit, stamped when it reached the branch, not when the
    feature branch's own commit was written.
    """
    proc = run_git(
        root, ["log", "--first-parent", "--diff-filter=A", "--format=%H %ct", tip, "--", path], timeout=120
    )
    if proc.returncode != 0:
        raise InputError(f"git cannot read the history of {path}: {_stderr(proc)}")
    lines = proc.stdout.decode().split("\n")
    last = [line for line in lines if line.strip()]
    if not last:
        return None
    sha, when = last[-1].split()
    return sha, int(when)


@dataclass(frozen=True)
class Arrivals:
    """When files reached a branch: path -> (commit, committer time); paths git could not place are absent."""

    found: dict[str, tuple[str, datetime]]
    notes: tuple[str, ...] = ()


def arrivals(root: Path, base: str, tip: str, paths: Sequence[str], *, fetch: bool = True) -> Arrivals:
    """When each of `paths` (relative to the repository root) first reached `base` (whose tip is
    `tip`): the committer time of the first commit on its first-parent line that added it.

    A shallow clone shows its edge commits as adding everything, so an answer at the edge (or
    none) deepens the clone step by step, like `ensure_merge_base`, then asks for the full
    history; paths still unplaced are left out of the answer for the caller to refuse.
    """
    notes: list[str] = []
    found: dict[str, tuple[str, datetime]] = {}
    todo = list(dict.fromkeys(paths))
    remote = _remote_of(root, base) if fetch else None
    steps: list[list[str]] = []
    if remote is not None:
        name, branch = remote
        refspec = f"+refs/heads/{branch}:refs/remotes/{name}/{branch}"
        steps = [[f"--deepen={depth}", name, refspec] for depth in DEEPEN_STEPS]
        steps.append(["--unshallow", name, refspec])
    while True:
        edge = _shallow_boundary(root)
        for path in list(todo):
            hit = _first_added(root, tip, path)
            if hit is not None and hit[0] not in edge:
                found[path] = (hit[0], datetime.fromtimestamp(hit[1], UTC))
                todo.remove(path)
        if not todo or not edge or not steps:
            return Arrivals(found, tuple(notes))
        step = steps.pop(0)
        if not _fetch(root, step):
            return Arrivals(found, tuple(notes))
        notes.append(f"deepened the shallow clone ({step[0]}) to find when {', '.join(todo)} reached {base}")
