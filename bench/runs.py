"""The runs half of `make bench`: streamed agent runs on ours and on Agno 3.1.10's
AgentOS, both against the same scripted model server (bench/model_server.c), both
driven by the same load client (bench/sse_load.c). Each step starts a fresh server
whose one agent points at that step's script, warms it with a few runs, then
measures: the load client's counts and latencies, the server's CPU from /proc, its
RSS peak (sampled) over its RSS before the step, and the model server's CPU."""
import json
import os
import shutil
import subprocess
import sys
import time

from benchlib import ROOT, RssPeak, Server, cpu_s, free_port

BENCH = os.path.join(ROOT, "bench")
# (chunks, ms between chunks) per script; the model's first chunk is sent at once,
# so a run's whole first-token time is overhead.
SCRIPTS = {"short": (5, 0), "chunks": (200, 20), "series": (50, 200), "series_full": (200, 200),
           "quick": (20, 20)}
WARM_UP = "bench-script 5 0"  # model_server.c: a message that picks its own script
RAMP = 2000  # connects per second for the N-concurrent steps, both sides
OURS_ENV = {  # limits that would otherwise refuse the bench's load
    "RATE_LIMIT_PER_MINUTE": "0", "MAX_CONCURRENT_RUNS_PER_WORKSPACE": "100000",
    "MAX_CONNECTIONS": "20000", "STORE_QUEUE_MAX": "100000"}


def build_tools(out_dir: str) -> dict:
    """model_server and sse_load, compiled here (-O2, warnings as errors)."""
    os.makedirs(out_dir, exist_ok=True)
    tools = {}
    for name in ("model_server", "sse_load"):
        tools[name] = os.path.join(out_dir, name)
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
                        os.path.join(BENCH, name + ".c"), "-o", tools[name]], check=True)
    return tools


class ModelServer:
    """The scripted model server; `url(script)` is the base_url that selects a script."""

    def __init__(self, binary: str, log: str):
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([binary], stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.port = int(self.proc.stdout.readline().split()[1])

    def url(self, script: str) -> str:
        chunks, interval = SCRIPTS[script]
        return f"http://127.0.0.1:{self.port}/c/{chunks}/{interval}/v1"

    def cpu(self) -> float:
        return cpu_s(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


class Side:
    """How to start one side (ours or Agno) with its one agent on a given script."""

    def __init__(self, name: str, start, token: str = ""):
        self.name, self.start, self.token = name, start, token


def ours_side(binary: str, tmp: str, secret: str, token: str) -> Side:
    def start(url: str, tag: str) -> Server:
        agents = os.path.join(tmp, f"agents-{tag}")
        os.makedirs(agents, exist_ok=True)
        with open(os.path.join(agents, "bench.yaml"), "w") as f:
            f.write(f'id: bench\nmodel: {{provider: openai, id: m, base_url: "{url}"}}\n')
        port = free_port()
        env = dict(os.environ, BETTER_AUTH_SECRET=secret, PORT=str(port), HOST="127.0.0.1",
                   LOG_LEVEL="warn", AGENTOS_ENV_FILE="/nonexistent", AGENTS_DIR=agents,
                   AGENTOS_DATA_DIR=os.path.join(tmp, f"data-{tag}"), **OURS_ENV)
        return Server([binary], env, port, os.path.join(tmp, f"ours-{tag}.log"))

    return Side("ours", start, token)


def agno_side(py: str, env: dict, tmp: str) -> Side:
    def start(url: str, tag: str) -> Server:
        port = free_port()
        argv = [py, "-m", "uvicorn", "agno_app:app", "--app-dir", os.path.join(BENCH, "anchors"),
                "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
        e = dict(env, BENCH_MODEL_URL=url, BENCH_DB=os.path.join(tmp, f"agno-{tag}.db"))
        return Server(argv, e, port, os.path.join(tmp, f"agno-{tag}.log"), timeout=60)

    return Side("Agno", start)


def load(tools: dict, srv: Server, side: Side, conns: int, runs: int, rate: float = 0,
         cap: float = 600, message: str = "hello") -> dict:
    argv = [tools["sse_load"], "-p", str(srv.port), "-a", "bench", "-c", str(conns), "-n", str(runs),
            "-r", str(rate), "-T", str(cap), "-m", message] + (["-t", side.token] if side.token else [])
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def step(tools: dict, model: ModelServer, side: Side, script: str, conns: int, runs: int,
         rate: float, cap: float, tag: str) -> dict:
    """One measured step on a fresh server; returns the load client's JSON plus CPU and RSS."""
    with side.start(model.url(script), tag) as srv:
        # Warm-up: short runs whatever the agent's script (the model server reads the
        # message), so that one-time costs (imports, the database, pools) are paid.
        load(tools, srv, side, 8, 100, cap=cap, message=WARM_UP)
        c0, m0, t0 = cpu_s(srv.pid), model.cpu(), time.monotonic()
        with RssPeak(srv.pid) as rss:
            r = load(tools, srv, side, conns, runs, rate, cap)
        r["wall_s"] = time.monotonic() - t0
        r["cpu_s"], r["model_cpu_s"] = cpu_s(srv.pid) - c0, model.cpu() - m0
        r["rss_idle_mib"], r["rss_peak_mib"] = rss.start, rss.peak
    r.update(script=script, chunks=SCRIPTS[script][0], n=runs, conns=conns)
    print(f"runs: {side.name:4} {tag:12} ok {r['ok']}/{runs} errors {r['errors']}, "
          f"{r['runs_per_s']:.0f} runs/s, first token p50 {pct(r, 'p50')} p99 {pct(r, 'p99')} ms, "
          f"CPU {r['cpu_s']:.2f} s, RSS {r['rss_idle_mib']:.0f} -> {r['rss_peak_mib']:.0f} MiB, "
          f"model server {100 * r['model_cpu_s'] / r['wall_s']:.0f}% of a core, {r['wall_s']:.1f} s",
          flush=True)
    return r


def pct(r: dict, p: str) -> str:
    v = r["ttft_ms"].get(p)
    return "-" if v is None else f"{v:.1f}"


def plan(full: bool, quick: bool = False) -> dict:
    """Steps per side: (conns, runs, connects/s, cap s) per figure, the N series and its cap.
    quick: a smoke test of the harness in seconds, its figures meaningless."""
    if quick:
        return {"series": "quick", "ours": {"short": (4, 200, 0, 20), "chunks": (10, 10, RAMP, 20),
                                             "n": [10, 50], "cap": 30},
                "Agno": {"short": (4, 40, 0, 20), "chunks": (5, 5, RAMP, 20), "n": [10], "cap": 30}}
    return {
        "series": "series_full" if full else "series",
        "ours": {"short": (32, 10000, 0, 60), "chunks": (200, 200, RAMP, 60),
                 "n": [100, 1000, 4000, 8000], "cap": 300, "big": None if full else 8000},
        "Agno": {"short": (16, 300, 0, 20), "chunks": (200, 200, RAMP, 45),
                 "n": [10, 100, 1000], "cap": 200 if full else 100},
    }


def measure_side(tools: dict, model: ModelServer, side: Side, p: dict) -> dict:
    mine = p[side.name]
    r = {"short": step(tools, model, side, "short", *mine["short"], tag="short"),
         "chunks": step(tools, model, side, "chunks", *mine["chunks"], tag="chunks"), "n": {}}
    for n in mine["n"]:
        r["n"][n] = step(tools, model, side, p["series"], n, n, RAMP, mine["cap"], tag=f"N={n}")
    if mine.get("big"):  # the N=8000 row at its own script, beside the shorter series
        n = mine["big"]
        r["big"] = step(tools, model, side, "series_full", n, n, RAMP, mine["cap"], tag=f"N={n} long")
    return r


def measure_runs(tools: dict, tmp: str, sides: list, full: bool, quick: bool = False) -> dict:
    """Every step of every side, one after the other, against one model server."""
    model = ModelServer(tools["model_server"], os.path.join(tmp, "model_server.log"))
    try:
        p = plan(full, quick)
        out = {"series": p["series"], "script": {k: SCRIPTS[k] for k in ("short", "chunks", p["series"])}}
        for side in sides:
            out[side.name] = measure_side(tools, model, side, p)
        return out
    finally:
        model.stop()


def plot(r: dict, py: str, env: dict, png: str, tmp: str) -> bool:
    data = os.path.join(tmp, "runs.json")
    with open(data, "w") as f:
        json.dump(r, f)
    rc = subprocess.run([py, os.path.join(BENCH, "plot_runs.py"), data, png], env=env).returncode
    return rc == 0


def have_cc() -> bool:
    return shutil.which(os.environ.get("CC", "cc")) is not None


# ---- the rows of the table: (figure, ours, Agno, ours/Agno, target) ----


def ratio(o, a) -> str:
    """ours/Agno: "45.2x" when ours is the larger, "1/34x" when it is the smaller."""
    if o is None or a is None or o <= 0 or a <= 0:
        return "-"
    if o >= a:
        return f"{o / a:.1f}x"
    return f"1/{a / o:.1f}x" if a / o < 10 else f"1/{a / o:.0f}x"


def reached(r: dict) -> str:
    """What a step fell short of, if anything: " 612/1000 ok"."""
    return "" if r["ok"] == r["n"] else f" {r['ok']}/{r['n']} ok"


def short_rows(o: dict, a: dict) -> list:
    def per_run_ms(r):
        return r["cpu_s"] / r["ok"] * 1000 if r and r["ok"] else None

    os_, as_ = o["short"], a.get("short")
    label = f"short runs/s ({os_['chunks']} chunks, SQLite, {os_['conns']} conns)"
    return [(label, os_["runs_per_s"], as_ and as_["runs_per_s"], "{:.0f}", ">= 3000, >= 100x"),
            ("CPU ms per short run", per_run_ms(os_), per_run_ms(as_), "{:.3f}", "-")]


def chunk_us(r: dict) -> float:
    """CPU per relayed chunk: the streamed run's CPU less a short run's, over the extra chunks."""
    s, c = r.get("short"), r.get("chunks")
    if not s or not c or not s["ok"] or not c["ok"]:
        return None
    extra = c["chunks"] - s["chunks"]
    return (c["cpu_s"] / c["ok"] - s["cpu_s"] / s["ok"]) / extra * 1e6


def pick_n(r: dict, n: int) -> tuple:
    """The step at N = n, else the largest N the side did without a failed run."""
    steps = r.get("n", {})
    if n in steps and steps[n]["ok"] == n:
        return n, steps[n]
    done = [k for k, v in steps.items() if v["ok"] == k]
    k = max(done) if done else max(steps, default=None)
    return k, steps.get(k)


def per_run_kib(r: dict) -> float:
    return (r["rss_peak_mib"] - r["rss_idle_mib"]) * 1024 / r["n"]


def series_rows(o: dict, a: dict, script: str) -> list:
    out = []
    at = [r["n"].get(1000) for r in (o, a)]
    notes = "".join(f"; {side}{reached(st)}" for side, st in zip(("ours", "Agno"), at) if st and reached(st))
    for p, target in (("p50", "-"), ("p99", "<= 50 ms")):
        vals = [(st or {}).get("ttft_ms", {}).get(p) for st in at]
        out.append((f"first-token overhead {p} ms, N=1000 ({script}){notes}", *vals, "{:.1f}", target))
    big = o.get("big") or o["n"].get(8000)
    if big:
        label = "N=8000 concurrent streamed runs ({} x {} ms)".format(*SCRIPTS[big["script"]])
        out.append((label, f"{big['ok']}/8000 ok, {big['errors']} errors", None, "{}", "8000, 0 errors"))
    big = big or max(o["n"].items(), default=(None, None))[1]
    k, top = max(a["n"].items(), default=(None, None))
    mem = [big and per_run_kib(big), top and per_run_kib(top)]
    label = "memory per run KiB, (RSS peak - idle) / N" + (
        "; ours at N={} ({} x {} ms)".format(big["n"], *SCRIPTS[big["script"]]) if big else "") + (
        f"; Agno at N={k} ({script})" if top else "")
    out.append((label, *mem, "{:.1f}", "< 32 KiB"))
    per = []
    for r in (o, a):
        k, st = pick_n(r, 1000)
        per.append(None if st is None else (st["cpu_s"] / k * 1000, k))
    label = f"CPU s per 1,000 streamed runs ({script})" + "".join(
        f"; {side} from N={v[1]}" for side, v in (("ours", per[0]), ("Agno", per[1])) if v and v[1] != 1000)
    out.append((label, per[0] and per[0][0], per[1] and per[1][0], "{:.2f}", "<= 1/30x"))
    return out


def model_share(r: dict) -> float:
    steps = [r.get("short"), r.get("chunks"), r.get("big")] + list(r.get("n", {}).values())
    return max((100 * s["model_cpu_s"] / s["wall_s"] for s in steps if s), default=None)


def runs_rows(r: dict) -> list:
    """The runs half's rows, numbers formatted; Agno's cells "-" when it was not run."""
    o, a = r["ours"], r.get("Agno", {"n": {}})
    chunks, interval = r["script"]["chunks"]
    script = "{} x {} ms".format(*r["script"][r["series"]])
    raw = short_rows(o, a)
    raw.append((f"CPU us per relayed chunk (N={o['chunks']['conns']}, {chunks} x {interval} ms, "
                "less a short run)",
                chunk_us(o), chunk_us(a), "{:.2f}", "<= 5 us"))
    raw += series_rows(o, a, script)
    share = [v if v is None else f"{v:.1f}" for v in (model_share(o), model_share(a))]  # no ratio
    raw.append(("scripted model server CPU, % of one core (busiest step)", *share, "{}",
                "never the bottleneck"))
    out = []
    for label, ov, av, fmt, target in raw:
        cell = [("-" if v is None else fmt.format(v)) for v in (ov, av)]
        num = isinstance(ov, float) and isinstance(av, float)
        out.append((label, cell[0], cell[1], ratio(ov, av) if num else "-", target))
    return out


if __name__ == "__main__":
    sys.exit("bench/runs.py is a part of bench/run")
