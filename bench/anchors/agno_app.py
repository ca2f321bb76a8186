"""The Agno anchor of `make bench`: the real agno 3.1.10 AgentOS (from the test
venv), one agent whose OpenAI model points at the bench's scripted model server,
its sessions in SQLite, no security key, no telemetry. A benchmark anchor only:
bench/run serves it with uvicorn (one process, as Agno's docs serve it) and posts
the same streamed runs to it that it posts to ours.

    BENCH_MODEL_URL=http://127.0.0.1:PORT/c/5/0/v1 BENCH_DB=/tmp/agno.db \\
        python -m uvicorn agno_app:app --app-dir bench/anchors --port 7777
"""
import os

from agno.agent import Agent
from agno.db.sqlite import SqliteDb
from agno.models.openai import OpenAIChat
from agno.os import AgentOS

AGENT_ID = "bench"

agent = Agent(
    id=AGENT_ID,
    name="bench",
    model=OpenAIChat(id="m", api_key="sk-bench", base_url=os.environ["BENCH_MODEL_URL"]),
    db=SqliteDb(db_file=os.environ["BENCH_DB"]),
    telemetry=False,
)
app = AgentOS(id="agno-bench", agents=[agent], telemetry=False).get_app()
