"""What both halves of `make bench` share: free ports, started servers, CPU and RSS
from /proc, the Python that runs the anchors, the machine's description."""
import os
import platform
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")
# uvicorn and matplotlib for the anchors and the plot, beside the test venv (which
# is shared and pinned by the tests): pip install --target, once.
DEPS = os.path.expanduser(os.environ.get("BENCH_SEED_DEPS", "~/.cache/agentos-bench-seed"))
REQUIREMENTS = os.path.join(ROOT, "bench", "requirements.txt")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, header: str = "") -> tuple[int, bytes]:
    """One request on a fresh connection: (status, body); (0, b"") if refused."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{header}Connection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        return 0, b""
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d+)", head)
    return (int(m.group(1)) if m else 0), body


def pids_of(pid: int) -> list:
    """The process and its direct children (nginx's workers)."""
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return [pid] + kids


def cpu_s(pid: int) -> float:
    """utime + stime of the process and its children, all threads, in seconds."""
    total = 0
    for p in pids_of(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / TICK


def rss_mib(pid: int, children: bool = True) -> float:
    total = 0
    for p in pids_of(pid) if children else [pid]:
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total / 1024


class RssPeak:
    """The highest RSS of one process, sampled every 20 ms while in the `with` block."""

    def __init__(self, pid: int):
        self.pid, self.start, self.peak, self._stop = pid, 0.0, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mib(self.pid, children=False))

    def __enter__(self) -> "RssPeak":
        self.start = self.peak = rss_mib(self.pid, children=False)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib(self.pid, children=False))


class Server:
    """A started server: its pid, port, and start-to-first-/health-200 time."""

    def __init__(self, argv: list, env: dict, port: int, log: str, timeout: float = 10):
        self.port = port
        self.log = open(log, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=self.log, cwd=ROOT)
        try:
            self._wait_ready(argv[0], log, t0, timeout)
        except BaseException:  # Ctrl-C or SIGTERM before a `with` holds it
            self.stop()
            raise

    def _wait_ready(self, name: str, log: str, t0: float, timeout: float) -> None:
        while get(self.port, "/health")[0] != 200:
            if self.proc.poll() is not None or time.monotonic() - t0 > timeout:
                sys.exit(f"bench: {name} did not answer /health (see {log})")
            time.sleep(0.0005)
        self.start_ms = (time.monotonic() - t0) * 1000
        time.sleep(0.3)  # let workers settle before the idle RSS
        self.idle_rss = rss_mib(self.proc.pid)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.log.closed:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def bench_python(install: bool = True) -> tuple:
    """(python, env) for the anchors and the plot: the test venv's Python (agno, fastapi)
    with DEPS on its path, installing bench/requirements.txt there when it is missing;
    (None, None) when that fails."""
    py = os.path.join(ROOT, ".venv", "bin", "python")
    py = py if os.access(py, os.X_OK) else sys.executable
    env = dict(os.environ, PYTHONPATH=DEPS + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def ok() -> bool:
        return subprocess.run([py, "-c", "import fastapi, jwt, uvicorn, matplotlib"], env=env,
                              capture_output=True).returncode == 0

    if not ok() and install:
        print(f"bench: installing bench/requirements.txt into {DEPS} (once)", flush=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "--target", DEPS, "-r", REQUIREMENTS],
                       capture_output=True)
    return (py, env) if ok() else (None, None)


def machine() -> dict:
    with open("/proc/meminfo") as f:
        mem = next(l.split()[1] for l in f if l.startswith("MemTotal:"))
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "nproc": os.cpu_count(),
            "memory": f"{int(mem) / 1024 / 1024:.1f} GiB", "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "kernel": platform.release()}


def raise_nofile() -> int:
    """The soft fd limit up to the hard one, for us and every server we start."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > 1 << 20:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
