"""with_services.sh leaves nothing behind (issue 10, item 8): no temp folder
(there was an agentos-redis-* folder per run), no server process; and its
leftovers check names, and fails on, what a command leaves behind."""

import os
import socket
import subprocess
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WITH_SERVICES = REPO / "tests" / "support" / "with_services.sh"

# What the servers themselves say their directories are, so that the test
# needs no knowledge of where the script puts them.
PROBE = r"""
set -e
port=${TEST_REDIS_URL#redis://127.0.0.1:}; port=${port%%/*}
echo "redis_port=$port"
echo "redis_dir=$(redis-cli -p "$port" config get dir | tail -n 1)"
echo "pg_url=$TEST_DATABASE_URL"
echo "tmpdir=$TMPDIR"
"""


def run_services(script: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TEST_DATABASE_URL", "TEST_REDIS_URL", "AGENTOS_TEST_RUN")}
    return subprocess.run([str(WITH_SERVICES), "sh", "-c", script], env=env, text=True,
                          capture_output=True, timeout=180, stdin=subprocess.DEVNULL)


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_services_leave_no_folder_or_process():
    r = run_services(PROBE + 'psql -Atq "$TEST_DATABASE_URL" -c "SHOW data_directory" '
                             '| sed "s/^/pg_dir=/"\n')
    assert r.returncode == 0, r.stderr
    got = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    redis_dir, pg_dir, tmpdir = Path(got["redis_dir"]), Path(got["pg_dir"]), Path(got["tmpdir"])
    assert str(redis_dir).startswith("/tmp/agentos-") and str(pg_dir).startswith("/tmp/agentos-")
    assert not redis_dir.exists(), f"{redis_dir} left behind"
    assert not pg_dir.parent.exists(), f"{pg_dir.parent} left behind"
    assert not tmpdir.exists(), f"{tmpdir} left behind"
    pg_port = int(got["pg_url"].rsplit(":", 1)[1].split("/")[0])
    assert not answers(int(got["redis_port"])) and not answers(pg_port)
    assert "leftovers:" not in r.stderr, r.stderr


def test_a_leftover_fails_the_run_and_is_named():
    name = f"/tmp/agentos-leak-{uuid.uuid4().hex[:8]}"
    script = (f"mkdir {name}; (setsid sleep 300 >/dev/null 2>&1 &); mkdir \"$TMPDIR/junk\"")
    try:
        r = run_services(script)
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert f"temp folder left behind: {name}" in r.stderr, r.stderr
        assert "still runs: sleep 300" in r.stderr, r.stderr
        assert "/tmp/junk" in r.stderr, r.stderr
        # The process was the run's: it is stopped, not left running.
        ps = subprocess.run(["pgrep", "-f", "^sleep 300$"], capture_output=True, text=True)
        for pid in ps.stdout.split():
            proc = Path(f"/proc/{pid}")
            env = (proc / "environ").read_bytes() if proc.exists() else b""
            assert b"AGENTOS_TEST_RUN=" not in env, pid
    finally:
        if os.path.isdir(name):
            os.rmdir(name)


def test_the_command_status_is_kept():
    assert run_services("exit 3").returncode == 3
