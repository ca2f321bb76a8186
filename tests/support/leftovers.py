"""What a test run left behind, for with_services.sh (issue 10, item 8).

  leftovers.py snapshot            the /tmp/agentos-* entries now, one a line
  leftovers.py check RUN_ID ROOT BEFORE

check, once the services are stopped, reports and fails (exit 1) on:
  - a process of the run: one whose environment carries AGENTOS_TEST_RUN=RUN_ID
    (every child of with_services.sh inherits it, daemons included) or whose
    environment, command line or working directory names ROOT (the servers the
    tests start with an environment of their own keep their data under
    TMPDIR=ROOT/tmp). They are stopped (SIGTERM, then SIGKILL);
  - anything left in ROOT but pytest's own base directories (ROOT is removed
    afterwards by the caller);
  - a /tmp/agentos-* entry that was not in BEFORE and that no live process uses
    (cwd, open file, command line or environment), still so two seconds later.
    Other runs on the machine keep theirs in use; agentos-run-*, and the
    agentos-pg-* and agentos-redis-* of older scripts, are a run's own and are
    not judged here.
Python 3 standard library only; Linux /proc."""

import os
import signal
import sys
import time
from pathlib import Path

TMP = Path("/tmp")
OWN_PREFIXES = ("agentos-run-", "agentos-pg-", "agentos-redis-")


def snapshot() -> set[str]:
    return {p.name for p in TMP.glob("agentos-*")}


def ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return pids


def read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def processes():
    """(pid, environ, cmdline, cwd, open paths) of every other live process."""
    skip = ancestors()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        pid = int(entry.name)
        try:
            fds = [link(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            fds = []
        yield (pid, read(f"/proc/{pid}/environ"), read(f"/proc/{pid}/cmdline"),
               link(f"/proc/{pid}/cwd"), fds)


def run_processes(run_id: str, root: str) -> list[tuple[int, str]]:
    marker, rootb = f"AGENTOS_TEST_RUN={run_id}".encode(), root.encode()
    found = []
    for pid, env, cmd, cwd, _ in processes():
        if marker in env.split(b"\0") or rootb in env or rootb in cmd or cwd.startswith(root):
            found.append((pid, cmd.replace(b"\0", b" ").decode(errors="replace").strip()))
    return found


def stop(pids: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.1)


def in_use(paths: set[str]) -> set[str]:
    used = set()
    for _, env, cmd, cwd, fds in processes():
        for p in paths - used:
            pb = p.encode()
            if pb in env or pb in cmd or cwd.startswith(p) or any(f.startswith(p) for f in fds):
                used.add(p)
    return used


def new_unused(before: set[str]) -> list[str]:
    def candidates() -> set[str]:
        return {str(TMP / n) for n in snapshot() - before if not n.startswith(OWN_PREFIXES)}

    left = candidates()
    left -= in_use(left)
    if left:
        time.sleep(2)  # one being made or removed right now by another run
        left &= candidates()
        left -= in_use(left)
    return sorted(left)


def left_in_root(root: Path) -> list[Path]:
    """What the services' stop scripts and the tests did not remove; pytest
    keeps its last base directories on purpose (the caller removes ROOT)."""
    if not root.is_dir():
        return []
    left = [p for p in root.iterdir() if p.name not in ("before", "tmp")]
    if (root / "tmp").is_dir():
        left += [p for p in (root / "tmp").iterdir() if not p.name.startswith("pytest-of-")]
    return sorted(left)


def check(run_id: str, root: str, before_file: str) -> int:
    problems = []
    procs = run_processes(run_id, root)
    if procs:
        problems += [f"process {pid} still runs: {cmd}" for pid, cmd in procs]
        stop([pid for pid, _ in procs])
    problems += [f"left in the run's directory: {p}" for p in left_in_root(Path(root))]
    before = set(Path(before_file).read_text().split()) if Path(before_file).exists() else set()
    problems += [f"temp folder left behind: {p}" for p in new_unused(before)]
    for line in problems:
        print(f"leftovers: {line}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    if argv[1:2] == ["snapshot"]:
        print("\n".join(sorted(snapshot())))
        return 0
    if argv[1:2] == ["check"] and len(argv) == 5:
        return check(argv[2], argv[3], argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
