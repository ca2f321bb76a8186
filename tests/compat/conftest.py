"""The compatibility suite: our server measured against the real agno 3.1.10.

It reuses tests/e2e's harness (the server launcher, tokens, the scripted
model). That conftest is loaded here under its own module name and its public
names re-exported, so `from conftest import ...` means the same in both
directories, whichever conftest pytest loaded last.

Fixtures of this directory:
- `oracle`: a real agno AgentOS app built in-process (one Agent on an
  OpenAIChat model, a SqliteDb in a tmp dir), with Agno's own OpenAPI
  document and Agno's own replies for the script our server is given; its
  model is the local scripted model, so nothing reaches the network.
- `compat`: one of our servers for the session, with OS_SECURITY_KEY set,
  one agent on the scripted model, and a workspace it has already run in.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_E2E = Path(__file__).resolve().parents[1] / "e2e"
if str(_E2E) not in sys.path:
    sys.path.insert(0, str(_E2E))

_spec = importlib.util.spec_from_file_location("e2e_conftest", _E2E / "conftest.py")
_e2e = importlib.util.module_from_spec(_spec)
sys.modules["e2e_conftest"] = _e2e
_spec.loader.exec_module(_e2e)
from e2e_conftest import *  # noqa: E402,F401,F403 (helpers and fixtures, shared)
from e2e_conftest import launch  # noqa: E402

from compat_support import CompatStack, Oracle  # noqa: E402
from runs_support import MockModel  # noqa: E402

@pytest.fixture(scope="session")
def compat_mock():
    m = MockModel()
    yield m
    m.close()


@pytest.fixture(scope="session")
def oracle(tmp_path_factory, compat_mock) -> Oracle:
    return Oracle.build(tmp_path_factory.mktemp("agno"), compat_mock)


@pytest.fixture(scope="session")
def compat(tmp_path_factory, compat_mock) -> CompatStack:
    stack = CompatStack(tmp_path_factory.mktemp("compat"), compat_mock)
    stack.server = launch(stack.tmp / "srv", env=stack.env)
    try:
        stack.seed()
        yield stack
    finally:
        stack.server.check_clean_exit()
