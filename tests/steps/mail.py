"""Reading the e-mails the SMTP server caught, as their recipients would."""

from __future__ import annotations

import base64
import quopri
import re
from email import message_from_bytes
from email.policy import compat32
from typing import Any

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients


def text_of(message: Any) -> str:
    """The message's plain-text body."""
    return str(message.get_body(preferencelist=("plain",)).get_content())


def html_of(message: Any) -> str:
    """The message's HTML body."""
    return str(message.get_body(preferencelist=("html",)).get_content())


def recipients(mailbox: MailCatcher) -> list[str]:
    """Every envelope recipient of every message caught, in the order they arrived."""
    return [r for m in mailbox.messages() for r in envelope_recipients(m)]


# --- what goes on the wire, read from the bytes the server received ------------------------------

_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
# Headers whose value is one or more msg-ids or <URL>s: encoded-words there are not the value
# (RFC 2047 section 5, RFC 2369), and a fold may only fall between two items.
_ITEM_LIST_HEADERS = (
    b"message-id",
    b"in-reply-to",
    b"references",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)
_QUOTED = re.compile(rb'"(?:[^"\\]|\\.)*"')
_ONCE = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version")


def _word_decodes(word: re.Match[bytes]) -> bool:
    charset, encoding, text = (g.decode("ascii") for g in word.groups())
    raw = (
        base64.b64decode(text)
        if encoding in "bB"
        else quopri.decodestring(text.replace("_", " "), header=True)
    )
    try:
        raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def wire_problems(raw: bytes, *, domain: str | None = None) -> list[str]:
    """What a strict receiver finds wrong in a message's bytes as the SMTP server received them
    (RFC 5321/5322, 2045-2047, 2369, 8058; no SMTPUTF8 nor 8BITMIME asked for): CRLF line
    ends only; lines of 998 octets at most, 76 in a quoted-printable or base64 body; 7-bit
    bytes only (non-ASCII text as encoded-words of at most 75 characters that each decode
    alone, bodies quoted-printable or base64); From, To, Subject, Date, Message-ID (on
    ``domain``) and MIME-Version once each, one address in From and To, no Bcc, no header
    twice; msg-ids and unsubscribe links never encoded and folded only between items; a
    text/plain part."""
    problems: list[str] = []
    if re.search(rb"\r(?!\n)|(?<!\r)\n", raw):
        problems.append("a line ends in a bare CR or LF")
    problems += [f"a line of {len(line)} octets" for line in raw.split(b"\r\n") if len(line) > 998]
    if not raw.isascii():
        problems.append("8-bit bytes sent without SMTPUTF8 or 8BITMIME")
    head = raw.partition(b"\r\n\r\n")[0]
    fields: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    names = [field.partition(b":")[0].strip().lower() for field in fields]
    problems += [f"{name.decode()} {names.count(name)} times" for name in _ONCE if names.count(name) != 1]
    problems += [f"{name.decode()} twice" for name in sorted(set(names)) if names.count(name) > 1]
    if b"bcc" in names:
        problems.append("a Bcc header")
    for name, field in zip(names, fields, strict=True):
        for word in _ENCODED_WORD.finditer(field):
            if len(word.group()) > 75:
                problems.append(f"{name.decode()}: an encoded-word of {len(word.group())} characters")
            if not _word_decodes(word):
                problems.append(f"{name.decode()}: an encoded-word that does not decode alone")
        if name in (b"from", b"to") and b"," in _QUOTED.sub(b"", _ENCODED_WORD.sub(b"", field)):
            problems.append(f"{name.decode()}: more than one address (a comma outside quotes)")
        if name in _ITEM_LIST_HEADERS:
            value = field.partition(b":")[2]
            if b"=?" in value:
                problems.append(f"{name.decode()}: encoded-words instead of its value")
            if any(not piece.lstrip().startswith(b"<") for piece in value.split(b"\r\n")[1:]):
                problems.append(f"{name.decode()}: folded inside an item")
    if domain is not None and not re.search(
        rb"(?mi)^message-id: *<[^@>\s]+@" + re.escape(domain.encode()) + rb">", head
    ):
        problems.append(f"the Message-ID is not on {domain}")
    parts = message_from_bytes(raw, policy=compat32).walk()
    leaves = [part for part in parts if not part.is_multipart()]
    if "text/plain" not in [part.get_content_type() for part in leaves]:
        problems.append("no text/plain part")
    for part in leaves:
        encoding = str(part.get("Content-Transfer-Encoding", "7bit")).lower()
        if encoding in ("quoted-printable", "base64"):
            long = [line for line in str(part.get_payload()).splitlines() if len(line) > 76]
            if long:
                problems.append(f"{part.get_content_type()}: {encoding} lines of {len(long[0])} characters")
    return problems
