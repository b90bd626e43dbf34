"""One channel interface (issue 9, point 3): every provider is sent to the same way."""

from __future__ import annotations

import inspect
import typing

from chalicelib.channels.base import Channel, OutgoingChannelMessage
from chalicelib.channels.push import PushSender
from chalicelib.channels.ses import SesChannel
from chalicelib.channels.sms import HttpGatewaySender, SnsSmsSender
from chalicelib.channels.smtp import SmtpChannel

PROVIDERS = (SmtpChannel, SesChannel, SnsSmsSender, HttpGatewaySender, PushSender)


def test_every_provider_takes_one_outgoing_message_and_answers_the_provider_id() -> None:
    # Given the five providers the outbox delivers through
    for provider in PROVIDERS:
        # When the outbox worker looks at what each offers
        send = inspect.signature(provider.send)
        hints = typing.get_type_hints(provider.send)
        # Then each sends one OutgoingChannelMessage and answers the provider's id (the SMS
        # gateway: or None, an id too long to be one we understand), and closes
        assert list(send.parameters) == ["self", "message"], provider
        assert hints["message"] is OutgoingChannelMessage and set(hints) == {"message", "return"}, provider
        assert hints["return"] == (str | None if provider is HttpGatewaySender else str), provider
        assert list(inspect.signature(provider.close).parameters) == ["self"], provider
        assert {"send", "close"} <= set(dir(provider)) and set(dir(Channel)) >= {"send", "close"}
