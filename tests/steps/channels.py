"""Channels against servers that answer slowly or not at all: a message to send, and its failure
timed against the bound it must keep."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from chalicelib.channels.base import OutgoingChannelMessage
from chalicelib.core.errors import DeliveryFailed


def an_order_sms() -> OutgoingChannelMessage:
    return OutgoingChannelMessage(to_address="+5491159876543", text="Estimado Ana, su pedido salió hoy.")


def failure_at(seconds: float, send: Callable[[], object], *, late: float) -> DeliveryFailed:
    """``send``'s failure, checked to have come when its bound of ``seconds`` was up: not before
    (most of it) and not more than ``late`` after (scheduling noise on a busy machine)."""
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as failed:
        send()
    took = time.monotonic() - started
    assert seconds * 0.9 <= took < seconds + late, f"the send took {took:.2f} s"
    return failed.value
