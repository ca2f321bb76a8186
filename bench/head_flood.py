#!/usr/bin/env python3
"""RSS of the server under a flood of unfinished request heads (issue 7, item 5).

Starts the given binary on a free port, opens CONNS connections that each send
an unfinished head of HEAD_BYTES (a request line and one long header, no final
CRLF CRLF), and prints the server's RSS before, while the connections are open,
and after they close. Not part of the test command.

    bench/head_flood.py build/agentos 1000 3000
"""
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

HEAD_BYTES = int(os.environ.get("HEAD_BYTES", 400 * 1024))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flood(port: int, n: int) -> list:
    head = b"GET /health HTTP/1.1\r\nHost: bench\r\nX-Fill: "
    head += b"a" * (HEAD_BYTES - len(head))
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(10)
        try:
            s.sendall(head)
        except OSError:
            pass  # the server answered and closed mid-way
        socks.append(s)
    return socks


def health_ms(port: int, n: int = 20) -> tuple[float, float]:
    """/health on fresh connections while the flood is held: median and max ms."""
    took = []
    for _ in range(n):
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            while s.recv(4096):
                pass
        took.append((time.monotonic() - t0) * 1000)
    took.sort()
    return took[len(took) // 2], took[-1]


def answered(socks: list) -> dict:
    """Status lines the server sent on these connections (none: still held)."""
    seen: dict = {}
    for s in socks:
        s.setblocking(False)
        try:
            line = s.recv(64).split(b"\r\n", 1)[0].decode("latin-1") or "closed"
        except BlockingIOError:
            line = "held, no reply"
        except OSError:
            line = "reset"
        seen[line] = seen.get(line, 0) + 1
    return seen


def main() -> int:
    binary, counts = sys.argv[1], [int(a) for a in sys.argv[2:]] or [1000, 3000]
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="head-flood-")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AGENTOS_ENV": "development",
           "BETTER_AUTH_SECRET": "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz",
           "HOST": "127.0.0.1", "PORT": str(port), "AGENTOS_WORKERS": "2",
           "AGENTOS_DATA_DIR": tmp, "AGENTOS_ENV_FILE": tmp + "/none", "LOG_LEVEL": "warn",
           "REQUEST_TIMEOUT_SECONDS": "300"}
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.1)
        print(f"{binary}: head {HEAD_BYTES} B; RSS at start {rss_mb(proc.pid):.0f} MB")
        for n in counts:
            socks = flood(port, n)
            time.sleep(1.0)
            held = rss_mb(proc.pid)
            p50, worst = health_ms(port)
            replies = answered(socks)
            for s in socks:
                s.close()
            time.sleep(2.0)
            print(f"  {n} connections: RSS {held:.0f} MB open, "
                  f"{rss_mb(proc.pid):.0f} MB after close; /health p50 {p50:.1f} ms, "
                  f"max {worst:.1f} ms while open; replies {replies}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
