"""Channels against servers that answer slowly or not at all: a message to send, and its failure
timed against the bound it must keep."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from chalicelib.channels.base import OutgoingChannelMessage
from chalicelib.core.errors import DeliveryFailed

# How long a hostile fake server keeps going (trickling, or holding its answer) before it gives up
# and ends: code without a deadline would end here, so a test fails instead of hanging.
GIVE_UP = 30.0
# How far past its deadline an exchange may end: slack for a loaded 2-core machine (it took 2 s past
# a 1 s deadline there), and still far under GIVE_UP, where code without the deadline would end.
LATE = 9.0


def an_order_sms() -> OutgoingChannelMessage:
    return OutgoingChannelMessage(to_address="+5491159876543", text="Estimado Ana, su pedido salió hoy.")


def failure_at(seconds: float, send: Callable[[], object], *, late: float = LATE) -> DeliveryFailed:
    """``send``'s failure, checked to have come when its bound of ``seconds`` was up: not before
    (most of it) and not more than ``late`` after (a busy machine's slack, far under
    :data:`GIVE_UP`, when a send without the bound would have ended)."""
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as failed:
        send()
    took = time.monotonic() - started
    assert seconds * 0.9 <= took < seconds + late, f"the send took {took:.2f} s"
    return failed.value
