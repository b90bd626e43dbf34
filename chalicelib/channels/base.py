"""The one channel interface: what every provider (SMTP, SES, SNS SMS, the SMS gateway, SNS push)
offers the outbox worker and the test sends.

    channel = email_channel(account, lambda: password_of(account))   # channels/accounts.py
    try:
        provider_id = channel.send(OutgoingChannelMessage(to_address="ana@example.com", text="Hola"))
    finally:
        channel.close()

``prepare`` does ahead what a send can do before it goes on the wire (an e-mail's MIME, for
SMTP): the outbox worker calls it on another thread while the previous message is being sent,
and passes what it returns to ``send``. ``send`` returns the provider's id for the message (the
SMTP Message-ID, SES's, SNS's, the gateway's; None when the provider took it without an id we
keep: an SMS gateway's over ``sms.GATEWAY_ID_LIMIT`` characters) or raises ``DeliveryFailed``
with the provider's words and whether trying again later may work (``transient``). A channel
may hold a connection between sends (SMTP does): ``close`` ends it. A channel is used by one
thread (``prepare``, by one more).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# Our header naming the communication an e-mail delivers (an SES send also tags it: channels.ses).
COMMUNICATION_HEADER = "X-Pregon-Message"

#: The longest one ``send`` of any channel may take, connecting included, however slowly the other
#: side answers (a company's SMTP server or SMS gateway that trickles one byte at a time, an AWS
#: endpoint in an outage): a send that runs longer fails as transient. The outbox starts no send
#: later than this (and some slack) before its claim on the message ends, so no message is ever
#: sent while another worker may own it (``messaging.delivery.SEND_MARGIN``).
SEND_SECONDS = 60
#: An exchange made while an API request waits for it (a test send, a mailbox's connection test)
#: ends within this, so that its answer, a timeout said so, comes before API Gateway gives up at 29 s.
ANSWER_WITHIN_SECONDS = 20


@dataclass(frozen=True)
class WireEmail:
    """An e-mail composed before its send: the bytes that go on the wire (CRLF line ends) and
    the envelope taken from its own From and To."""

    data: bytes
    message_id: str
    envelope_from: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class OutgoingChannelMessage:
    """One rendered message for one recipient, as a channel sends it.

    ``to_address`` is an e-mail address, an E.164 number (SMS) or an SNS endpoint ARN (push).
    ``subject`` is an e-mail's subject or a push notification's title. The e-mail fields (``html``
    to ``message_id``) are ignored by SMS and push, ``data`` (a push payload's keys) by the others.
    """

    to_address: str
    text: str
    subject: str = ""
    html: str | None = None
    to_name: str = ""
    from_address: str = ""
    from_name: str = ""
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # (file name, content type, bytes): an invoice's PDF, a label, ...
    attachments: tuple[tuple[str, str, bytes], ...] = ()
    message_id: str | None = None  # the e-mail's Message-ID; a new one on the sender's domain if None
    data: dict[str, str] = field(default_factory=dict)
    wire: WireEmail | None = None  # set by ``Channel.prepare`` when the channel composes ahead


class SentAsIs:
    """For a channel whose send is one API call: nothing to compose ahead."""

    def prepare(self, message: OutgoingChannelMessage) -> OutgoingChannelMessage:
        return message


class Channel(Protocol):
    def prepare(self, message: OutgoingChannelMessage) -> OutgoingChannelMessage:
        """Compose ahead what ``send`` would (thread-safe); the message as it is when nothing is."""

    def send(self, message: OutgoingChannelMessage) -> str | None:
        """Send one message; return the provider's id for it (None: the provider took it, but its
        answer named no id we keep). Raise DeliveryFailed on refusal."""

    def close(self) -> None:
        """End whatever the channel holds open (an SMTP connection); it may not be used after."""
