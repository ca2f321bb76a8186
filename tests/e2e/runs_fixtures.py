"""The scripted model and tool servers as module-scoped fixtures: a test
module imports the ones it uses (`from runs_fixtures import mock, tools`)."""

from __future__ import annotations

import pytest

from runs_support import MockModel, ToolServer


@pytest.fixture(scope="module")
def mock():
    m = MockModel()
    yield m
    m.close()


@pytest.fixture(scope="module")
def tools():
    t = ToolServer()
    yield t
    t.close()
