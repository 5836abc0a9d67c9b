import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from nexu_server import NexuServer  # noqa: E402


@pytest.fixture
def server():
    with NexuServer() as running:
        yield running


@pytest.fixture
def make_server():
    servers = []

    def make(**kwargs):
        created = NexuServer(**kwargs)
        servers.append(created)
        return created

    yield make
    for created in servers:
        created.cleanup()
