#!/usr/bin/env python3
"""Streamed agent runs against the scripted model server: runs per second,
latency, and the service's memory before and after, beside the anchors.

    make build && .venv/bin/python bench/runs.py [--runs 2000] [--concurrency 50]

Anchors (design notes): the seed's Python service answered /health at 2.2k
req/s; memory must stay flat over many requests (agno issues 3753, 2632)."""
import argparse, os, secrets, socket, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor

import httpx, jwt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=50)
    a = ap.parse_args()
    mock = subprocess.Popen([sys.executable, f"{ROOT}/tests/support/mock_model.py", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    mport = int(mock.stdout.readline().split()[1])
    tmp = tempfile.mkdtemp()
    os.makedirs(f"{tmp}/agents")
    with open(f"{tmp}/agents/bench.yaml", "w") as f:
        f.write(f"id: bench\nmodel: {{provider: openai, id: m, base_url: 'http://127.0.0.1:{mport}/v1'}}\n")
    secret, port = secrets.token_hex(32), free_port()
    env = dict(os.environ, BETTER_AUTH_SECRET=secret, PORT=str(port), HOST="127.0.0.1",
               AGENTS_DIR=f"{tmp}/agents", AGENTOS_DATA_DIR=f"{tmp}/data", LOG_LEVEL="warn",
               AGENTOS_ENV_FILE="/nonexistent", MAX_CONCURRENT_RUNS_PER_WORKSPACE="100000",
               RATE_LIMIT_PER_MINUTE="0")
    srv = subprocess.Popen([f"{ROOT}/build/agentos"], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{base}/health"); break
        except httpx.HTTPError:
            time.sleep(0.05)
    tok = jwt.encode({"sub": "bench", "workspaceId": "ws", "exp": int(time.time()) + 3600}, secret)
    hdr = {"Authorization": f"Bearer {tok}"}
    lat, lock = [], threading.Lock()

    def one(i):
        t0 = time.perf_counter()
        with httpx.stream("POST", f"{base}/agents/bench/runs", headers=hdr,
                          data={"message": f"hello {i}"}, timeout=30) as r:
            body = b"".join(r.iter_bytes())
        assert b"RunCompleted" in body, body[-300:]
        with lock:
            lat.append(time.perf_counter() - t0)

    with ThreadPoolExecutor(a.concurrency) as ex:
        list(ex.map(one, range(min(200, a.runs))))  # warm-up
        rss0 = rss_kib(srv.pid)
        lat.clear()
        t0 = time.perf_counter()
        list(ex.map(one, range(a.runs)))
        took = time.perf_counter() - t0
    rss1 = rss_kib(srv.pid)
    lat.sort()
    print(f"streamed runs: {a.runs} at concurrency {a.concurrency}: {a.runs / took:.0f} runs/s, "
          f"p50 {lat[len(lat)//2]*1000:.1f} ms, p99 {lat[int(len(lat)*0.99)]*1000:.1f} ms")
    print(f"service RSS: {rss0} KiB after warm-up, {rss1} KiB after {a.runs} more runs "
          f"(anchor: flat)")
    srv.terminate(); srv.wait(); mock.terminate(); mock.wait()


if __name__ == "__main__":
    main()
