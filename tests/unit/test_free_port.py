"""The local stack's free ports: never one this process was given before, so a server a test
stopped cannot come back as another test's while an earlier company still points at it."""

from __future__ import annotations

from infrastructure.local.paths import free_port


def test_free_ports_are_never_handed_out_twice_in_a_process() -> None:
    # When 300 servers ask for a port in turn, each one released before the next asks
    ports = [free_port() for _ in range(300)]
    # Then no two got the same one
    assert len(set(ports)) == 300
