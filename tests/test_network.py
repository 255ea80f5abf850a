"""Whether the Hub can be reached, and ``HF_HUB_OFFLINE`` set from it, against real local sockets.

A listening socket on 127.0.0.1 stands for a reachable Hub, a port nobody listens on for
an unreachable one; ``HF_ENDPOINT`` points the check at them, as it points
huggingface_hub at a mirror.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator

import pytest

from playground.network import configure_hub_access, hub_reachable


@pytest.fixture()
def listening() -> Iterator[socket.socket]:
    """A socket listening on a free local port (connections wait in its backlog)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


@pytest.fixture()
def closed_port() -> int:
    """A local port that nothing listens on: connecting to it is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def connections(server: socket.socket) -> int:
    """How many connections ``server`` has received (accepting and closing them)."""
    count = 0
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_a_listening_endpoint_is_reachable(listening):
    assert hub_reachable(url(listening.getsockname()[1]), timeout=5)
    assert connections(listening) == 1


def test_a_refused_endpoint_is_not(closed_port):
    assert not hub_reachable(url(closed_port), timeout=5)


def test_hf_endpoint_is_where_the_check_goes(monkeypatch, listening, closed_port):
    monkeypatch.setenv("HF_ENDPOINT", url(listening.getsockname()[1]))
    assert hub_reachable(timeout=5) and connections(listening) == 1
    monkeypatch.setenv("HF_ENDPOINT", url(closed_port))
    assert not hub_reachable(timeout=5)
    assert hub_reachable(url(listening.getsockname()[1]), timeout=5)  # an explicit endpoint wins


@pytest.mark.parametrize(("value", "online"), [("1", False), ("true", False), (" ON ", False), ("0", True), ("", True)])
def test_an_explicit_hf_hub_offline_is_respected_without_any_connection(monkeypatch, listening, value, online):
    monkeypatch.setenv("HF_ENDPOINT", url(listening.getsockname()[1]))
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert configure_hub_access() is online
    assert connections(listening) == 0
    assert os.environ["HF_HUB_OFFLINE"] == value  # left as the environment set it


def test_an_unreachable_hub_turns_offline_mode_on(monkeypatch, closed_port, caplog):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # restored after the test
    monkeypatch.setenv("HF_ENDPOINT", url(closed_port))
    with caplog.at_level(logging.WARNING, logger="playground.network"):
        assert configure_hub_access() is False
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert "unreachable" in caplog.text


def test_a_reachable_hub_leaves_offline_mode_unset(monkeypatch, listening):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", url(listening.getsockname()[1]))
    assert configure_hub_access() is True
    assert "HF_HUB_OFFLINE" not in os.environ
    assert connections(listening) == 1
