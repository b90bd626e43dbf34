"""Reading the e-mails the SMTP server caught, as their recipients would."""

from __future__ import annotations

import base64
import json
import quopri
import re
import socket
from email import message_from_bytes, policy
from email.parser import BytesHeaderParser
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
    """Every envelope recipient of every message caught, in the order they arrived: the RCPT TO
    the server recorded in the header it writes above each message, read from the headers alone
    (parsing every message whole, its MIME parts and their headers, for them took the crash tests
    of ``test_outbox_recovery.py``, which count recipients after every step, a tenth of their CPU)."""
    parser = BytesHeaderParser(policy=policy.default)
    found: list[str] = []
    for path in mailbox.files():
        head = re.split(rb"\r?\n\r?\n", path.read_bytes(), maxsplit=1)[0]
        found += envelope_recipients(parser.parsebytes(head))
    return found


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
_ONE_ADDRESS = (b"from", b"to", b"reply-to")
# RFC 5322 3.3 as we write it (``email.utils.format_datetime``): day, date, time, numeric zone
_DATE = re.compile(
    rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}"
    rb" \d{2}:\d{2}:\d{2} [+-]\d{4}"
)
# Our own X- headers: the communication (SES tags it), a test send; and the two the test's SMTP
# server writes above what it received (infrastructure/local/mailcatcher.py). Tracking alerts no
# longer carry ``X-Pregon-Alert`` (the carrier's event id and the subscription id).
OUR_X_HEADERS = (
    b"x-pregon-message",
    b"x-pregon-test-send",
    b"x-pregon-envelope-from",
    b"x-pregon-envelope-to",
)
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


def _fields(raw: bytes) -> list[bytes]:
    """The head's fields as they went on the wire: ``Name: value``, folds (CRLF and the next
    line's white space) kept, in order."""
    fields: list[bytes] = []
    for line in raw.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    return fields


def _name(field: bytes) -> bytes:
    return field.partition(b":")[0].strip().lower()


def header_fields(raw: bytes, name: str) -> list[bytes]:
    """Each ``name`` field of a message's head as it went on the wire, folds and all."""
    return [field for field in _fields(raw) if _name(field) == name.lower().encode()]


_PLAIN_PARAM = r'(?:^|;)\s*{}="((?:[^"\\\r\n]|\\.)*)"'
_EXTENDED_PARAM = r"(?:^|;)\s*{}\*(?:(\d+)\*)?=([^;\s\"]*)"


def _both_names(field: str, param: str) -> tuple[str | None, str | None]:
    """A header's ``param`` as a quoted ASCII string (None when there is none, or it is empty or
    not printable ASCII) and as RFC 2231's ``param*`` (one or ``*0*``, ``*1*``... sections; None
    when there is none or it does not decode in its charset)."""
    from urllib.parse import unquote_to_bytes

    value = re.sub(r"\r?\n[ \t]", " ", field)
    plain_match = re.search(_PLAIN_PARAM.format(re.escape(param)), value)
    plain = plain_match.group(1) if plain_match else None
    if plain is not None and not (plain.strip() and plain.isascii() and plain.isprintable()):
        plain = None
    sections = sorted(
        (int(number or 0), text)
        for number, text in re.findall(_EXTENDED_PARAM.format(re.escape(param)), value)
    )
    if not sections or [n for n, _ in sections] != list(range(len(sections))):
        return plain, None
    charset, _, text = "".join(text for _, text in sections).partition("'")
    text = text.partition("'")[2]  # after the language, most often empty
    try:
        extended = unquote_to_bytes(text).decode(charset)
    except (UnicodeDecodeError, LookupError):
        return plain, None
    return plain, extended or None


def wire_problems(raw: bytes, *, domain: str | None = None) -> list[str]:
    """What a strict receiver finds wrong in a message's bytes as the SMTP server received them
    (RFC 5321/5322, 2045-2047, 2183, 2231, 2369, 8058; no SMTPUTF8 nor 8BITMIME asked for):
    CRLF line ends only; lines of 998 octets at most, 76 in a quoted-printable or base64 body;
    7-bit bytes only (non-ASCII text as encoded-words of at most 75 characters that each decode
    alone, bodies quoted-printable or base64); From, To, Subject, Date (RFC 5322 3.3's form),
    Message-ID (on ``domain``) and MIME-Version once each, one address in From, To and
    Reply-To, no Bcc, no header twice; msg-ids and unsubscribe links never encoded and folded
    only between items, a ``List-Unsubscribe`` of https or http URLs on one line; a text/plain
    part that is not blank, before the HTML in a multipart/alternative; every attachment
    ``Content-Disposition: attachment`` with its file name twice there and in Content-Type's
    ``name``: as RFC 2231's ``filename*``/``name*`` and as a quoted ASCII fallback; no
    header naming this machine, ``localhost`` or a loopback address, and no ``X-`` header but
    ours (:data:`OUR_X_HEADERS`)."""
    problems: list[str] = []
    if re.search(rb"\r(?!\n)|(?<!\r)\n", raw):
        problems.append("a line ends in a bare CR or LF")
    problems += [f"a line of {len(line)} octets" for line in raw.split(b"\r\n") if len(line) > 998]
    if not raw.isascii():
        problems.append("8-bit bytes sent without SMTPUTF8 or 8BITMIME")
    head = raw.partition(b"\r\n\r\n")[0]
    fields = _fields(raw)
    names = [_name(field) for field in fields]
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
        if name in _ONE_ADDRESS and b"," in _QUOTED.sub(b"", _ENCODED_WORD.sub(b"", field)):
            problems.append(f"{name.decode()}: more than one address (a comma outside quotes)")
        if name in _ITEM_LIST_HEADERS:
            value = field.partition(b":")[2]
            if b"=?" in value:
                problems.append(f"{name.decode()}: encoded-words instead of its value")
            if any(not piece.lstrip().startswith(b"<") for piece in value.split(b"\r\n")[1:]):
                problems.append(f"{name.decode()}: folded inside an item")
        if name == b"date" and not _DATE.fullmatch(field.partition(b":")[2].strip()):
            problems.append(f"date: not RFC 5322's form: {field.decode(errors='replace')}")
        if name == b"list-unsubscribe" and (
            b"\r\n" in field or not re.fullmatch(rb"<https?://[^<>\s]+>(, *<[^<>\s]+>)*", field[17:].strip())
        ):
            problems.append("list-unsubscribe: not one line of <URL>s")
        if name.startswith(b"x-") and name not in OUR_X_HEADERS:
            problems.append(f"a header of no use to the reader: {name.decode()}")
        if name not in (b"x-pregon-envelope-from", b"x-pregon-envelope-to") and re.search(
            rb"(?i)\blocalhost\b|\b127\.0\.0\.1\b|\[::1\]|@"
            + re.escape(socket.gethostname().encode())
            + rb"\b",
            field,
        ):
            problems.append(f"{name.decode()}: names this machine or a loopback address")
    if domain is not None and not re.search(
        rb"(?mi)^message-id: *<[^@>\s]+@" + re.escape(domain.encode()) + rb">", head
    ):
        problems.append(f"the Message-ID is not on {domain}")
    parts: list[Any] = list(message_from_bytes(raw, policy=compat32).walk())
    leaves = [part for part in parts if not part.is_multipart()]
    if "text/plain" not in [part.get_content_type() for part in leaves]:
        problems.append("no text/plain part")
    for part in parts:
        if part.get_content_type() == "multipart/alternative":
            kinds = [sub.get_content_type() for sub in part.get_payload()]
            if kinds[:1] != ["text/plain"] or kinds[-1:] != ["text/html"]:
                problems.append(f"multipart/alternative holds {kinds}: text first, then HTML")
        if (
            part.get_content_type() == "text/plain"
            and not part.get_payload(decode=True)
            .decode(part.get_content_charset() or "ascii", "replace")
            .strip()
        ):
            problems.append("a blank text/plain part")
        disposition = str(part.get("Content-Disposition", ""))
        if part.get_content_maintype() in ("application", "image") or disposition:
            if not disposition.lower().startswith("attachment"):
                problems.append(f"{part.get_content_type()}: not Content-Disposition: attachment")
            if not part.get_filename():
                problems.append(f"{part.get_content_type()}: an attachment without a file name")
            both = {
                param: _both_names(str(part.get(header, "")), param)
                for header, param in (("Content-Disposition", "filename"), ("Content-Type", "name"))
            }
            for param, (plain, extended) in both.items():
                if plain is None:
                    problems.append(f"{part.get_content_type()}: no quoted ASCII {param}= (RFC 2045/2183)")
                if extended is None:
                    problems.append(f"{part.get_content_type()}: no {param}*= that decodes (RFC 2231)")
            if both["filename"][1] != both["name"][1]:
                problems.append(f"{part.get_content_type()}: name* and filename* differ")
    for part in leaves:
        encoding = str(part.get("Content-Transfer-Encoding", "7bit")).lower()
        if encoding in ("quoted-printable", "base64"):
            long = [line for line in str(part.get_payload()).splitlines() if len(line) > 76]
            if long:
                problems.append(f"{part.get_content_type()}: {encoding} lines of {len(long[0])} characters")
    return problems


# --- a message handed over (a company's export, a client's access report) against its bytes ------


def caught_by_communication(mailbox: MailCatcher) -> dict[str, bytes]:
    """Each e-mail the server caught, its bytes, by the communication our ``X-Pregon-Message``
    header names."""
    caught: dict[str, bytes] = {}
    for path in mailbox.files():
        raw = path.read_bytes()
        for field in header_fields(raw, "X-Pregon-Message"):
            caught[field.partition(b":")[2].strip().decode()] = raw
    return caught


def not_as_sent(message: dict[str, Any], raw: bytes) -> list[str]:
    """How a message as handed over (its item as JSON) differs from the bytes that went on the
    wire: each header it keeps, its Message-ID and Reply-To against the head's field of that name
    (unfolded: CRLF removed), and any attribute of Pregón's packing left in it. Empty: as sent."""
    shown = {
        **dict(message.get("headers") or {}),
        "Message-ID": message.get("rfc_message_id"),
        "Reply-To": message.get("reply_to"),
    }
    problems = []
    for name, value in shown.items():
        fields = [f.replace(b"\r\n", b"") for f in header_fields(raw, name)]
        if value is None and fields:
            problems.append(f"{name}: not given, sent {fields}")
        elif value is not None and fields != [f"{name}: {value}".encode()]:
            problems.append(f"{name}: {value!r}, sent {fields}")
    problems += [f"packing left: {name}" for name in ("headers_from", "body_z") if name in message]
    problems += [f"packing left in {name}" for name, v in message.items() if "\\u0000" in json.dumps(v)]
    return problems
