"""SMTP PIPELINING (RFC 2920, issue 14 point 1): when the account's server offers it, each message's
envelope (MAIL, RCPT, DATA) goes in one write and its replies are read after it, so a message
costs two round trips instead of four. Checked on what crossed the wire (a relay between the
channel and a real aiosmtpd server writes down every chunk each side sent) and on the bytes the
server received; a server that does not offer it still gets one command at a time, and every
refusal means what it meant before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.channels.base import OutgoingChannelMessage
from chalicelib.core.errors import DeliveryFailed
from infrastructure.local.mailcatcher import ENVELOPE_FROM_HEADER, ENVELOPE_TO_HEADER, MailCatcher
from infrastructure.local.tcp_relay import TcpRelay
from tests.steps.tenants import SMTP_PASSWORD, SMTP_USER, local_smtp_channel

pytestmark = pytest.mark.usefixtures("loopback_destinations")


@pytest.fixture
def loopback_destinations(monkeypatch: pytest.MonkeyPatch) -> None:
    """The account's server is on this machine, as in the local stack."""
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "1")


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[MailCatcher]:
    """A real SMTP server that does not offer PIPELINING."""
    with MailCatcher(
        tmp_path / "plain-mail", credentials={SMTP_USER: SMTP_PASSWORD}, pipelining=False
    ) as catcher:
        yield catcher


def tapped(server: MailCatcher) -> Iterator[TcpRelay]:
    """A relay in front of ``server`` that writes down every chunk each side sent."""
    tap = TcpRelay(server.port)
    yield tap
    tap.close()


@pytest.fixture
def tap(mailbox: MailCatcher) -> Iterator[TcpRelay]:
    yield from tapped(mailbox)


@pytest.fixture
def plain_tap(plain_server: MailCatcher) -> Iterator[TcpRelay]:
    yield from tapped(plain_server)


def alert(n: int) -> OutgoingChannelMessage:
    """A tracking alert whose text holds lines that begin with a dot (SMTP's end of data when
    alone on a line, so they are doubled on the wire and undoubled by the server)."""
    text = f"Hola Ana:\n.\nsu envío CDS-{n} está en camino.\n.. y llega hoy.\n"
    return OutgoingChannelMessage(
        to_address=f"ana{n}@example.com",
        to_name="Ana García",
        subject=f"Su envío CDS-{n} está en camino",
        text=text,
        html=f"<p>Su envío CDS-{n} está en camino.</p>",
        message_id=f"<alert-{n}@cargasdelsur.example>",
    )


def received(server: MailCatcher) -> list[bytes]:
    """Each caught message's bytes as the client sent them (the server's two trace headers off)."""
    out = []
    for path in server.files():
        lines = path.read_bytes().split(b"\r\n")
        assert lines[0].startswith(ENVELOPE_FROM_HEADER.encode()) and lines[1].startswith(
            ENVELOPE_TO_HEADER.encode()
        )
        out.append(b"\r\n".join(lines[2:]))
    return out


def envelope_turns(tap: TcpRelay) -> list[bytes]:
    """The client's turns that carry an envelope command (smtplib writes them in lower case)."""
    return [t for t in tap.client_turns() if b"MAIL FROM:" in t.upper() or b"RCPT TO:" in t.upper()]


def test_a_server_that_offers_pipelining_gets_each_envelope_in_one_turn_and_each_message_byte_for_byte(
    mailbox: MailCatcher, tap: TcpRelay
) -> None:
    # Given an account whose server offers PIPELINING, reached through a relay that writes down the wire
    channel = local_smtp_channel(tap.port)
    messages = [channel.prepare(alert(n)) for n in range(3)]
    assert all(b"\r\n.\r\n" in m.wire.data for m in messages)  # type: ignore[union-attr]
    # When the outbox sends three alerts over its one connection
    ids = [channel.send(m) for m in messages]
    channel.close()
    # Then each message's MAIL, RCPT and DATA went in one turn, before the server answered any
    turns = envelope_turns(tap)
    assert len(turns) == 3, turns
    for n, turn in enumerate(turns):
        assert turn == (
            b"MAIL FROM:<avisos@cargasdelsur.example> SIZE=%d\r\nRCPT TO:<ana%d@example.com>\r\nDATA\r\n"
            % (len(messages[n].wire.data), n)  # type: ignore[union-attr]
        ), turn
    # And the server received every message exactly as composed, its dotted lines included
    assert ids == [f"<alert-{n}@cargasdelsur.example>" for n in range(3)]
    assert received(mailbox) == [m.wire.data for m in messages]  # type: ignore[union-attr]


def test_a_server_that_does_not_offer_pipelining_gets_one_command_at_a_time(
    plain_server: MailCatcher, plain_tap: TcpRelay
) -> None:
    # Given an account whose server does not offer PIPELINING
    channel = local_smtp_channel(plain_tap.port)
    message = channel.prepare(alert(1))
    # When the outbox sends an alert
    channel.send(message)
    channel.close()
    # Then MAIL and RCPT each waited for the server's answer, as smtplib sends them
    assert envelope_turns(plain_tap) == [
        b"mail FROM:<avisos@cargasdelsur.example> size=%d\r\n" % len(message.wire.data),  # type: ignore[union-attr]
        b"rcpt TO:<ana1@example.com>\r\n",
    ]
    # And the message arrived as composed
    assert received(plain_server) == [message.wire.data]  # type: ignore[union-attr]


def test_a_refused_recipient_fails_its_message_for_good_and_the_next_one_is_delivered(
    mailbox: MailCatcher, tap: TcpRelay
) -> None:
    # Given a pipelining server that will not take the first alert's recipient
    channel = local_smtp_channel(tap.port)
    mailbox.refuse_next_recipients(1, "550 5.1.1 <ana0@example.com>: no such user")
    # When the outbox sends two alerts
    with pytest.raises(DeliveryFailed) as refused:
        channel.send(channel.prepare(alert(0)))
    second = channel.prepare(alert(1))
    channel.send(second)
    channel.close()
    # Then the first failed with the server's own words, not to be retried
    assert not refused.value.transient
    assert "550 5.1.1 <ana0@example.com>: no such user" in refused.value.message
    # And only the second reached the server, whole
    assert received(mailbox) == [second.wire.data]  # type: ignore[union-attr]


def test_a_message_refused_after_its_data_is_retried_later_and_the_next_one_is_delivered(
    mailbox: MailCatcher, tap: TcpRelay
) -> None:
    # Given a pipelining server that greylists the first message
    channel = local_smtp_channel(tap.port)
    mailbox.refuse_next(1, "451 4.7.1 Greylisted, try again later")
    # When the outbox sends two alerts
    with pytest.raises(DeliveryFailed) as refused:
        channel.send(channel.prepare(alert(0)))
    second = channel.prepare(alert(1))
    channel.send(second)
    channel.close()
    # Then the first is left for a retry, with the server's words
    assert refused.value.transient and "451 4.7.1 Greylisted" in refused.value.message
    assert received(mailbox) == [second.wire.data]  # type: ignore[union-attr]


def test_a_broken_server_that_takes_data_after_refusing_every_recipient_gets_no_message(
    mailbox: MailCatcher, tap: TcpRelay
) -> None:
    # Given a server that refuses the recipient and then answers DATA with 354 anyway
    channel = local_smtp_channel(tap.port)
    mailbox.refuse_next_recipients(1, "550 5.1.1 no such user", then_take_data=True)
    # When the outbox sends the alert
    with pytest.raises(DeliveryFailed) as refused:
        channel.send(channel.prepare(alert(0)))
    # Then it fails for good and the connection is dropped before any message text is sent,
    # so the server has nothing to deliver (not even an empty message)
    assert not refused.value.transient and "550 5.1.1 no such user" in refused.value.message
    channel.close()
    assert received(mailbox) == []
    assert not any(b"Subject:" in turn or turn == b".\r\n" for turn in tap.client_turns())


def test_a_sender_the_server_refuses_fails_the_message_with_the_servers_words(
    mailbox: MailCatcher, tap: TcpRelay
) -> None:
    # Given an account that does not log in to a server that requires it (MAIL is refused)
    channel = local_smtp_channel(tap.port, login=False)
    # When the outbox sends an alert
    with pytest.raises(DeliveryFailed) as refused:
        channel.send(channel.prepare(alert(0)))
    channel.close()
    # Then the server's refusal of the sender is the message's error, and nothing was delivered
    assert "530 5.7.0 Authentication required" in refused.value.message
    assert received(mailbox) == []
