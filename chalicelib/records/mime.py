"""Reading a received e-mail (I3) with the standard library's ``email`` package, defensively.

Mail from the internet is often broken: truncated MIME, a missing boundary, a charset nobody
knows, no From, binary garbage. :func:`parse_mail` never raises: whatever cannot be read is
replaced (undecodable bytes become U+FFFD) and named in ``defects``, so the message is still
logged with what could be read, and the raw message stays in S3.

It is also written by strangers who may mean harm, so reading one is bounded: the parser is fed
a few kilobytes at a time and stops after :data:`MAX_PARTS` MIME parts or :data:`MAX_PARSE_DEPTH`
levels of nesting (a message nested deeper than the parser's recursion allows is read from its
headers only); a Message-ID longer than :data:`MAX_MESSAGE_ID_CHARS` is ignored, and at most
:data:`MAX_ADDRESSES` To / Cc addresses are read, none longer than :data:`MAX_ADDRESS_CHARS`.
One-line fields (subject, sender's name, file names) keep no control or bidirectional characters.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.feedparser import BytesFeedParser
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, HeaderParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from chalicelib.core.names import attachment_name, strip_invisible
from chalicelib.core.plain_text import html_to_text

MAX_TEXT_BYTES = 60_000  # kept on the communication item (DynamoDB items stop at 400 KB)
MAX_HTML_BYTES = 120_000  # a longer HTML body is kept as an attachment instead
MAX_HEADER_CHARS = 2_000
MAX_DEPTH = 20  # parts nested deeper are not read (they stay in the raw mail)
MAX_PARSE_DEPTH = 60  # the parser stops reading past this (its recursion would fail near 300)
MAX_PARTS = 1000  # MIME parts read of one message
MAX_MESSAGE_ID_CHARS = 500  # a longer id is ignored (the by-rfc-message index takes 2,048 bytes)
MAX_MESSAGE_IDS = 100  # ids read of In-Reply-To / References
MAX_ADDRESSES = 100  # To / Cc addresses read (each is looked up among the clients')
MAX_ADDRESS_CHARS = 254  # a longer "address" is not read
MAX_NAME_CHARS = 200  # a sender's name is cut to this
MAX_PARSED_HEADER_CHARS = 8_000  # of a header the parser reads (Content-Type, -Disposition, ...)
MAX_READ_HEADER_CHARS = 100_000  # of From / To / Cc / Subject / Date read
_FEED_BYTES = 8192
_BASE64_CHECKED_WHOLE = 2**20  # a longer base64 body is only scanned for what is not base64
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=\s]")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
_CONTROL = re.compile("[\x00-\x1f\x7f]+")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
TRUNCATED = "\n[… truncated: the whole message is kept in the raw mail]"


@dataclass
class MailPart:
    """An attachment as found in the message (its bytes still in memory)."""

    name: str
    content_type: str
    data: bytes


# Headers by which a sender says a machine wrote the message (RFC 3834's Auto-Submitted, and the
# de facto ones of autoresponders and bulk mail).
AUTOMATIC_HEADERS = ("Auto-Submitted", "X-Autoreply", "X-Autorespond", "X-Autoresponder", "Precedence")
MAX_REPORTED_RECIPIENTS = 50  # per-recipient blocks read of a delivery status


@dataclass(frozen=True)
class ReportedRecipient:
    """One recipient block of a delivery status notification (RFC 3464 section 2.3)."""

    address: str  # Final-Recipient (else Original-Recipient), lower-cased
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # e.g. 5.1.1
    diagnostic: str | None = None


@dataclass
class Report:
    """The machine-readable part of a ``multipart/report``."""

    report_type: str  # delivery-status | disposition-notification | another
    recipients: list[ReportedRecipient] = field(default_factory=list)
    # The message reported on (its returned headers, or an MDN's Original-Message-ID): its
    # Message-ID and its References, without angle brackets
    original_message_id: str | None = None
    original_references: list[str] = field(default_factory=list)
    disposition: str | None = None  # a read receipt's, e.g. "manual-action/MDN-sent-manually; displayed"


@dataclass
class ParsedMail:
    from_address: str | None = None
    from_name: str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str | None = None
    date: datetime | None = None
    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    text: str | None = None
    html: str | None = None
    attachments: list[MailPart] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    # ``from_address`` is the one address of the From header: the author DMARC judges (not a
    # Sender header's, nor the first of several From addresses).
    from_authored: bool = False
    # The headers that say a machine sent it (Auto-Submitted, Precedence, List-Id, ...: see
    # :data:`AUTOMATIC_HEADERS`), lower-cased names, their first 200 characters.
    automatic_headers: dict[str, str] = field(default_factory=dict)
    # A multipart/report's machine-readable part: a delivery status (RFC 3464) or a read
    # receipt (RFC 8098), with the ids of the message it reports on.
    report: Report | None = None

    def headers(self) -> dict[str, str]:
        """The headers worth keeping on the record (threading and display)."""
        found = {
            "Message-ID": f"<{self.message_id}>" if self.message_id else None,
            "In-Reply-To": " ".join(f"<{m}>" for m in self.in_reply_to) or None,
            "References": " ".join(f"<{m}>" for m in self.references) or None,
            "Date": self.date.isoformat() if self.date else None,
            "To": ", ".join(self.to) or None,
            "Cc": ", ".join(self.cc) or None,
        }
        return {k: v[:MAX_HEADER_CHARS] for k, v in found.items() if v}

    def problems(self) -> str | None:
        """What could not be read, once each (the logged record's ``error``); None when nothing."""
        return "; ".join(dict.fromkeys(self.defects))[:2000] or None

    def record_fields(self) -> dict[str, Any]:
        """What the record of a logged message takes from the mail itself: sender, subject,
        bodies, the headers worth keeping, when it was sent, and its Message-ID (H3: the same
        message found again, by inbound mail or in a staff mailbox, is not logged twice)."""
        return {
            "from_address": self.from_address,
            "from_name": self.from_name,
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "headers": self.headers(),
            "sent_at": self.date,
            "rfc_message_id": f"<{self.message_id}>" if self.message_id else None,
        }


def parse_mail(raw: bytes) -> ParsedMail:
    """Everything Pregón keeps of a received message. Never raises."""
    parsed = ParsedMail()
    try:
        message = _parse(raw, parsed)
    except RecursionError:  # nested deeper than the parser's recursion: its headers only
        parsed.defects.append("MIME nested too deep to read: only its headers were read")
        headers = _parse_headers(raw, parsed)
        if headers is not None:
            _read_headers(headers, parsed)
    except Exception as exc:  # the parser is lenient; this is a last resort
        parsed.defects.append(f"unparseable message ({type(exc).__name__}: {exc})")
        parsed.text = _cap(raw.decode("utf-8", errors="replace"), MAX_TEXT_BYTES)
        headers = _parse_headers(raw, parsed)
        if headers is not None:
            _read_headers(headers, parsed)
        _sanitize(parsed)
        return parsed
    else:
        _read_headers(message, parsed)
        _Walker(parsed).walk(message, 0)
        parsed.report = read_report(message, parsed)
    if parsed.text is None and parsed.html is not None:
        parsed.text = _cap(html_to_text(parsed.html), MAX_TEXT_BYTES)
    if parsed.html is not None and len(parsed.html.encode("utf-8")) > MAX_HTML_BYTES:
        parsed.attachments.append(MailPart("message.html", "text/html", parsed.html.encode("utf-8")))
        parsed.html = None
    if parsed.report is None:
        try:
            parsed.report = read_text_bounce(parsed)
        except Exception as exc:  # read as far as it goes: the message is still logged
            parsed.defects.append(f"unreadable bounce text ({type(exc).__name__})")
    if parsed.from_address is None:
        parsed.defects.append("no From address")
    if not raw.strip():
        parsed.defects.append("empty message")
    _sanitize(parsed)
    return parsed


class _BoundedPolicy(EmailPolicy):
    """``policy.default``, but a header is parsed from its first :data:`MAX_PARSED_HEADER_CHARS`
    only: the standard library's header parser takes time growing faster than a header's size (a
    5 MB Content-Type of parameters took minutes), and the parser itself reads Content-Type."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        if isinstance(value, str) and len(value) > MAX_PARSED_HEADER_CHARS:
            value = value[:MAX_PARSED_HEADER_CHARS]
        return super().header_fetch_parse(name, value)


BOUNDED_POLICY = _BoundedPolicy()


class _PartCounter:
    """The parser's message factory, counting the parts it makes and how deep they are."""

    def __init__(self) -> None:
        self.parser: BytesFeedParser[Any] | None = None
        self.parts = 0
        self.deepest = 0

    def new_part(self, policy: Any = None) -> EmailMessage:
        self.parts += 1
        if self.parser is not None:
            self.deepest = max(self.deepest, len(getattr(self.parser, "_msgstack", ())))
        return EmailMessage(policy=policy or BOUNDED_POLICY)


def _parse(raw: bytes, parsed: ParsedMail) -> Message:
    """The message, parsed a few kilobytes at a time: the parser stops after :data:`MAX_PARTS`
    parts or past :data:`MAX_PARSE_DEPTH` levels of nesting (what it read so far is kept)."""
    counted = _PartCounter()
    parser = BytesFeedParser(_factory=counted.new_part, policy=BOUNDED_POLICY)
    counted.parser, counted.parts = parser, 0  # (the parser made one part to try the factory)
    for start in range(0, len(raw), _FEED_BYTES):
        parser.feed(raw[start : start + _FEED_BYTES])
        if counted.parts > MAX_PARTS:
            parsed.defects.append(
                f"more than {MAX_PARTS} MIME parts: only the first were read (the raw mail has them all)"
            )
            break
        if counted.deepest > MAX_PARSE_DEPTH:
            parsed.defects.append(
                f"MIME nested too deep (over {MAX_PARSE_DEPTH} levels): only what is above was read"
            )
            break
    return parser.close()


def _parse_headers(raw: bytes, parsed: ParsedMail) -> Message | None:
    """The message's headers only (its body is not parsed)."""
    try:
        return BytesHeaderParser(policy=BOUNDED_POLICY).parsebytes(raw)
    except Exception as exc:
        parsed.defects.append(f"unreadable headers ({type(exc).__name__})")
        return None


def one_line(value: str) -> str:
    """A header's text as one line to show: no control characters (a NUL, a bare CR, a terminal
    escape) nor bidirectional overrides, runs of white space as one space."""
    return " ".join(_BIDI.sub("", _CONTROL.sub(" ", value)).split())


def clean_text(value: str) -> str:
    """Text that can be stored and sent as JSON: raw 8-bit bytes the parser kept as surrogates
    are decoded (UTF-8, else windows-1252), anything left unencodable is replaced."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = decode_bytes(value.encode("utf-8", errors="surrogateescape"), None)[0]
    return value.encode("utf-8", errors="replace").decode("utf-8")


def _sanitize(parsed: ParsedMail) -> None:
    for name in ("from_address", "message_id", "text", "html"):
        value = getattr(parsed, name)
        if isinstance(value, str):
            setattr(parsed, name, clean_text(value).replace("\x00", ""))
    if parsed.subject is not None:
        parsed.subject = one_line(clean_text(parsed.subject))
    if parsed.from_name is not None:
        parsed.from_name = strip_invisible(one_line(clean_text(parsed.from_name))) or None
    for name in ("to", "cc", "in_reply_to", "references"):
        setattr(parsed, name, [clean_text(v) for v in getattr(parsed, name)])
    for part in parsed.attachments:
        part.name = one_line(strip_invisible(clean_text(part.name))) or "file"


# --- headers ------------------------------------------------------------------------------------


def _raw_header(message: Message, name: str, limit: int | None = MAX_READ_HEADER_CHARS) -> str | None:
    """A header as it is on the wire (no policy parsing, which may raise on garbage), its first
    ``limit`` characters (reading a 5 MB one would take seconds to minutes)."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            text = str(value) if not isinstance(value, str) else value
            return text[:limit] if limit is not None else text
    return None


def decode_words(value: str) -> str:
    """RFC 2047 encoded words to text, with unknown charsets and bad bytes replaced."""
    value = clean_text(value)  # raw 8-bit first: decode_header would escape it as text
    try:
        chunks = decode_header(value)
    except Exception:  # a broken word: each is decoded on its own, leniently
        return _decode_each_word(value)
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_bytes(chunk, charset)[0])
    text = "".join(out)
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


def _decode_each_word(value: str) -> str:
    """RFC 2047 words one by one: bad base64 or quoted-printable is read as far as it goes, an
    unknown charset as UTF-8 (else windows-1252); white space between two words is dropped."""
    import quopri

    def word(found: re.Match[str]) -> str:
        charset, encoding, text = found.group(1), found.group(2).upper(), found.group(3)
        try:
            if encoding == "B":
                compact = re.sub(r"[^A-Za-z0-9+/]", "", text)
                compact = compact[:-1] if len(compact) % 4 == 1 else compact
                data = base64.b64decode(compact + "=" * (-len(compact) % 4))
            else:
                data = quopri.decodestring(text.replace("_", " ").encode("ascii", "replace"), header=True)
        except (binascii.Error, ValueError):
            return found.group(0)
        return decode_bytes(data, charset.split("*")[0])[0]

    return _ENCODED_WORD.sub(word, _BETWEEN_WORDS.sub(r"\1\2", value))


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Bytes in a declared charset to text; returns the text and a defect, if any."""
    name = (charset or "").strip().strip('"').lower()
    if name in ("", "us-ascii", "ascii", "unknown-8bit", "x-unknown"):
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            return data.decode("windows-1252", errors="replace"), None
    try:
        codecs.lookup(name)
    except LookupError:
        try:
            return data.decode("utf-8"), f"unknown charset {charset!r} (read as UTF-8)"
        except UnicodeDecodeError:
            return (
                data.decode("windows-1252", errors="replace"),
                f"unknown charset {charset!r} (read as windows-1252)",
            )
    if name in ("iso-8859-1", "latin-1", "latin1"):
        name = "windows-1252"  # what senders mean (curly quotes, euro sign in 0x80-0x9f)
    if codecs.lookup(name).name == "utf-16" and not data.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        # no byte order mark: big-endian (RFC 2781), unless the text says otherwise (ASCII
        # letters have their zero byte second in little-endian)
        little = data[1::2].count(0) > data[0::2].count(0)
        name = "utf-16-le" if little else "utf-16-be"
    return data.decode(name, errors="replace"), None


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    raw = _raw_header(message, name)
    if not raw:
        return []
    try:
        pairs = getaddresses([raw.replace("\r", " ").replace("\n", " ")])
    except Exception:
        return []
    found = []
    for display, address in pairs:
        address = address.strip().strip("<>").strip()
        # longer is no address (RFC 5321: 254), but a way to fail the client lookup's key
        if (
            "@" in address
            and " " not in address
            and len(address) <= MAX_ADDRESS_CHARS
            and not _CONTROL.search(address)
        ):
            name = decode_words(display[: MAX_NAME_CHARS * 20]).strip() if display else ""
            found.append((name[:MAX_NAME_CHARS], address.lower()))
    return found


def message_ids(value: str | None, defects: list[str] | None = None, name: str = "Message-ID") -> list[str]:
    """The ids in a Message-ID / In-Reply-To / References header, without angle brackets; one
    longer than :data:`MAX_MESSAGE_ID_CHARS` is left out (and named in ``defects``). Of more than
    :data:`MAX_MESSAGE_IDS`, the first (a thread's root) and the last ones: References lists a
    thread oldest first, so the message answered is at its end."""
    if not value:
        return []
    found = _MESSAGE_ID.findall(value)
    if not found:
        found = [w for w in value.split() if "@" in w]
    # an id with a control character is none (a reply from the register would carry it)
    ids = [m for m in dict.fromkeys(m.strip() for m in found) if not _CONTROL.search(m)]
    kept = [m for m in ids if len(m) <= MAX_MESSAGE_ID_CHARS]
    if len(kept) < len(ids) and defects is not None:
        defects.append(f"{name} over {MAX_MESSAGE_ID_CHARS} characters ignored")
    return kept if len(kept) <= MAX_MESSAGE_IDS else [kept[0], *kept[len(kept) - MAX_MESSAGE_IDS + 1 :]]


def _read_headers(message: Message, parsed: ParsedMail) -> None:
    try:
        authors = _addresses(message, "From")
        senders = authors or _addresses(message, "Sender")
        if senders:
            parsed.from_name, parsed.from_address = (senders[0][0] or None), senders[0][1]
            parsed.from_authored = len(authors) == 1
        for name in ("To", "Cc"):
            found = [a for _, a in _addresses(message, name)]
            if len(found) > MAX_ADDRESSES:
                parsed.defects.append(f"{len(found)} {name} addresses: only the first {MAX_ADDRESSES} read")
            setattr(parsed, name.lower(), found[:MAX_ADDRESSES])
        subject = _raw_header(message, "Subject")
        parsed.subject = decode_words(subject).strip()[:998] if subject is not None else None
        date = _raw_header(message, "Date")
        if date:
            try:
                moment = parsedate_to_datetime(date.strip())
                moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
                parsed.date = moment.astimezone(timezone.utc)  # 9999-12-31 -1200 is past the last
            except (TypeError, ValueError, IndexError, OverflowError):
                parsed.defects.append(f"unreadable Date {date.strip()[:80]!r}")
        # read whole (ids are found in one pass): an id over the limit is named, not cut
        ids = message_ids(_raw_header(message, "Message-ID", None), parsed.defects)
        parsed.message_id = ids[0] if ids else None
        for name in ("In-Reply-To", "References"):
            found = message_ids(_raw_header(message, name, None), parsed.defects, name)
            setattr(parsed, name.lower().replace("-", "_"), found)
        for name in AUTOMATIC_HEADERS:
            value = _raw_header(message, name, 200)
            if value is not None:
                parsed.automatic_headers[name.lower()] = one_line(clean_text(value))
    except Exception as exc:  # keep whatever was read before
        parsed.defects.append(f"unreadable headers ({type(exc).__name__}: {exc})")


# --- reports: delivery status notifications and read receipts ---------------------------------


def read_report(message: Message, parsed: ParsedMail) -> Report | None:
    """The machine-readable part of a ``multipart/report`` (RFC 6522): a delivery status's
    recipient blocks (RFC 3464) or a read receipt's disposition (RFC 8098), and the ids of the
    message it reports on, from its returned headers (``text/rfc822-headers``) or whole message
    (``message/rfc822``). None for any other message; never raises (a report it cannot read is
    named in ``defects`` and read as far as it goes)."""
    parts = message.get_payload()
    if _content_type(message) != "multipart/report" or not isinstance(parts, list):
        return None
    report = Report(report_type=str(message.get_param("report-type") or "").strip().lower()[:60])
    try:
        for part in parts[:10]:
            if isinstance(part, Message):
                _read_report_part(part, report)
    except Exception as exc:
        parsed.defects.append(f"unreadable report ({type(exc).__name__})")
    return report


def _report_blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` or ``message/disposition-notification``
    part (the parser reads them as messages; an encoded part is read from its decoded text)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    data = part.get_payload(decode=True)
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(payload or "")
    return [HeaderParser(policy=BOUNDED_POLICY).parsestr(chunk) for chunk in re.split(r"\r?\n\s*\r?\n", text)]


def _field(block: Message, name: str) -> str | None:
    value = _raw_header(block, name, 1000)
    return one_line(clean_text(value)) if value is not None else None


def _typed_address(value: str | None) -> str | None:
    """``rfc822; ana@example.com`` to ``ana@example.com``."""
    address = (value or "").split(";", 1)[-1].strip().strip("<>").strip().lower()
    return address if "@" in address and len(address) <= MAX_ADDRESS_CHARS and " " not in address else None


def _read_report_part(part: Message, report: Report) -> None:
    content_type = _content_type(part)
    if content_type in ("message/delivery-status", "message/global-delivery-status"):
        for block in _report_blocks(part)[1 : MAX_REPORTED_RECIPIENTS + 1]:
            address = _typed_address(_field(block, "Final-Recipient") or _field(block, "Original-Recipient"))
            if address is None:
                continue
            report.recipients.append(
                ReportedRecipient(
                    address=address,
                    action=(_field(block, "Action") or "").lower()[:20],
                    status=(_field(block, "Status") or "").split(" ")[0][:20],
                    diagnostic=(_field(block, "Diagnostic-Code") or None),
                )
            )
    elif content_type in ("message/disposition-notification", "message/global-disposition-notification"):
        for block in _report_blocks(part)[:1]:
            report.disposition = (_field(block, "Disposition") or "")[:200] or None
            ids = message_ids(_field(block, "Original-Message-ID"))
            report.original_message_id = report.original_message_id or (ids[0] if ids else None)
    elif content_type in (
        "text/rfc822-headers",
        "message/rfc822-headers",
        "message/rfc822",
        "message/global",
    ):
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            headers: Message = inner[0]
        else:
            data = part.get_payload(decode=True)
            text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(inner or "")
            headers = BytesHeaderParser(policy=BOUNDED_POLICY).parsebytes(text.encode("utf-8", "replace"))
        ids = message_ids(_raw_header(headers, "Message-ID", None))
        report.original_message_id = ids[0] if ids else report.original_message_id
        report.original_references = message_ids(_raw_header(headers, "References", None))


# --- bounces in plain text: qmail, old Exim, old Exchange ----------------------------------------

# Whose plain-text message may be read as a bounce: the mail system's own addresses. (A person's
# message that quotes a bounce is not one; anyone can write such a From, which is why a bounce
# counts only for the address our message went to: records.inbound_mail.apply_report.)
_BOUNCER = re.compile(r"^(?:mailer-daemon|postmaster)@", re.IGNORECASE)
# Where each form starts returning our message (its headers follow, then its body).
_RETURNED = re.compile(
    r"^(?:--- Below this line is a copy of the message\.|------ This is a copy of the message)[^\n]*",
    re.MULTILINE,
)
_QMAIL = re.compile(r"^Hi\. This is the qmail-send program", re.MULTILINE)
_EXIM = re.compile(r"could not be delivered to one or more of its\s+recipients", re.IGNORECASE)
_EXCHANGE = re.compile(
    r"did not reach (?:some or all of )?the (?:following|intended) recipient|"
    r"no lleg[oó] a (?:algunos o a )?todos los destinatarios|no se puede llegar a",
    re.IGNORECASE,
)
_QMAIL_RECIPIENT = re.compile(r"^<([^<>\s]+@[^<>\s]+)>:\s*$")
_EXIM_RECIPIENT = re.compile(r"^ {1,4}<?([^<>\s]+@[^<>\s]+?)>?\s*$")
_EXCHANGE_RECIPIENT = re.compile(r"^\s+(?:SMTP=)?<?([^<>\s;]+@[^<>\s;]+?)>?;?\s+(?:on|el)\s+\d")
_STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_PERMANENT = re.compile(r"permanent error|error permanente", re.IGNORECASE)


def from_mail_system(address: str | None) -> bool:
    """Whether an address is a mail system's own (``MAILER-DAEMON@``, ``postmaster@``), which
    bounces are sent from."""
    return bool(_BOUNCER.match(address or ""))


def read_text_bounce(parsed: ParsedMail) -> Report | None:
    """A bounce in plain text, with no ``message/delivery-status`` part (decision 0030): qmail's
    ("Hi. This is the qmail-send program ..."), Exim's older "Mail delivery failed: returning message
    to sender", and Exchange's older non-delivery report ("Your message did not reach some or all of
    the intended recipients"), from ``MAILER-DAEMON@`` / ``postmaster@``. Read as a delivery report
    would be: each failed recipient (``Action: failed``) with the status its diagnostic gives
    (``5.1.1``; else ``5.0.0`` when the bounce says it is permanent), and the ids of our returned
    message (its copy in the text, or an attached ``message/rfc822``). None for anything else."""
    text = parsed.text or ""
    if not from_mail_system(parsed.from_address) or not text:
        return None
    cut = _RETURNED.search(text)
    said, returned = (text[: cut.start()], text[cut.end() :]) if cut else (text, "")
    if _QMAIL.search(said):
        blocks = _recipient_blocks(said, _QMAIL_RECIPIENT, ends_at_blank=True)
    elif _EXIM.search(said):
        blocks = _recipient_blocks(said, _EXIM_RECIPIENT, ends_at_blank=True)
    elif _EXCHANGE.search(said):
        blocks = _recipient_blocks(said, _EXCHANGE_RECIPIENT, ends_at_blank=False)
    else:
        return None
    if not blocks:
        return None
    permanent = bool(_PERMANENT.search(said))
    report = Report(report_type="delivery-status")
    for address, detail in blocks[:MAX_REPORTED_RECIPIENTS]:
        status = _STATUS.search(detail)
        diagnostic = one_line(detail)[:1000] or None
        found = status.group(1) if status else ("5.0.0" if permanent else "")
        report.recipients.append(ReportedRecipient(address.lower(), "failed", found, diagnostic))
    _returned_ids(returned, parsed, report)
    return report


def _recipient_blocks(said: str, starts: re.Pattern[str], *, ends_at_blank: bool) -> list[tuple[str, str]]:
    """Each failed address with the lines that say why (up to the next address, or a blank line)."""
    blocks: list[tuple[str, list[str]]] = []
    for line in said.splitlines():
        start = starts.match(line)
        if start and "@" in start.group(1) and len(start.group(1)) <= MAX_ADDRESS_CHARS:
            blocks.append((start.group(1), []))
        elif blocks and line.strip():
            blocks[-1][1].append(line.strip())
        elif blocks and ends_at_blank and blocks[-1][1]:
            blocks.append(("", []))  # the paragraph ended: lines after it are no one's
    return [(address, " ".join(lines)) for address, lines in blocks if address]


def _returned_ids(returned: str, parsed: ParsedMail, report: Report) -> None:
    """The Message-ID and References of our message, from its copy after the bounce's text, else
    from a returned message attached whole (an ``.eml`` attachment)."""
    sources = [returned.lstrip("\r\n").encode("utf-8", "replace")] if returned.strip() else []
    returned_types = ("message/rfc822", "text/rfc822-headers")
    sources += [a.data for a in parsed.attachments if a.content_type in returned_types]
    for source in sources:
        headers = BytesHeaderParser(policy=BOUNDED_POLICY).parsebytes(source[:MAX_READ_HEADER_CHARS])
        ids = message_ids(_raw_header(headers, "Message-ID", None))
        if ids:
            report.original_message_id = ids[0]
            report.original_references = message_ids(_raw_header(headers, "References", None))
            return


# --- body and attachments ------------------------------------------------------------------------


class _Walker:
    def __init__(self, parsed: ParsedMail) -> None:
        self.parsed = parsed
        self.count = 0

    def walk(self, part: Message, depth: int) -> None:
        self.count += 1
        number = self.count
        try:
            self._note_defects(part, number)
            if depth > MAX_DEPTH:
                self.parsed.defects.append(f"part {number}: nested too deep, skipped")
                return
            self._read(part, depth)
        except Exception as exc:
            self.parsed.defects.append(f"part {number}: unreadable ({type(exc).__name__}: {exc})")

    def _note_defects(self, part: Message, number: int) -> None:
        for defect in getattr(part, "defects", []) or []:
            label = type(defect).__name__
            if label not in ("InvalidHeaderDefect", "HeaderMissingRequiredValue"):
                self.parsed.defects.append(f"part {number}: {label}")

    def _read(self, part: Message, depth: int) -> None:
        content_type = _content_type(part)
        if content_type == "message/rfc822":
            self._attach_message(part)
            return
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    self.walk(sub, depth + 1)
            return
        if content_type.startswith("multipart/"):  # no boundary found: read the body as text
            self._add_text(_decode_part(part, self.parsed), "text/plain")
            return
        _check_base64(part, self.parsed, self.count)  # a leaf: no part was counted after it
        disposition = _disposition(part)
        filename = _filename(part)
        body_text = (
            content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename
        )
        if body_text:
            self._add_text(_decode_part(part, self.parsed), content_type)
            return
        data = part.get_payload(decode=True)
        name = filename or _default_name(content_type, len(self.parsed.attachments) + 1)
        self.parsed.attachments.append(MailPart(name, content_type, data if isinstance(data, bytes) else b""))

    def _add_text(self, text: str, content_type: str) -> None:
        if content_type == "text/html":
            if self.parsed.html is None:
                self.parsed.html = text
            return
        if self.parsed.text is None:
            self.parsed.text = _cap(text, MAX_TEXT_BYTES)
        elif len(self.parsed.text.encode("utf-8")) < MAX_TEXT_BYTES:  # text split around attachments
            self.parsed.text = _cap(self.parsed.text.rstrip("\n") + "\n\n" + text, MAX_TEXT_BYTES)

    def _attach_message(self, part: Message) -> None:
        """A forwarded message (message/rfc822) is kept whole, as an ``.eml`` attachment."""
        inner = part.get_payload()
        data = b""
        subject = None
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            subject = _raw_header(inner[0], "Subject")
            try:
                data = inner[0].as_bytes(policy=policy.compat32)
            except Exception:
                data = bytes(str(inner[0]), "utf-8", errors="replace")
        name = _filename(part) or f"{decode_words(subject).strip() if subject else 'forwarded message'}.eml"
        self.parsed.attachments.append(MailPart(name, "message/rfc822", data))


def _content_type(part: Message) -> str:
    """The part's type, or ``application/octet-stream`` when it is not a ``type/subtype`` token
    (it becomes the kept file's Content-Type)."""
    try:
        found = str(part.get_content_type()).lower()
    except Exception:
        return "application/octet-stream"
    return found if _CONTENT_TYPE.match(found) else "application/octet-stream"


def _disposition(part: Message) -> str | None:
    try:
        value = part.get_content_disposition()
        return str(value).lower() if value else None
    except Exception:
        return None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name is None:
        return None
    # as it is kept (``files.put_file``): its base name (``../../etc/passwd`` is ``passwd``), no
    # control or bidirectional characters, at most 120 characters with its extension
    text = decode_words(str(name)).strip()
    return attachment_name(text) if text else None


def _default_name(content_type: str, number: int) -> str:
    extension = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}.get(content_type, "")
    return f"attachment-{number}{extension}"


def _check_base64(part: Message, parsed: ParsedMail, number: int) -> None:
    """Note a base64 body that is not base64 (the decoder skips what it cannot read)."""
    try:
        encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        raw = part.get_payload()
        if encoding == "base64" and isinstance(raw, str):
            if len(raw) > _BASE64_CHECKED_WHOLE:  # a scan, not a second decoded copy in memory
                if _NOT_BASE64.search(raw):
                    raise ValueError("not base64")
                return
            compact = "".join(raw.split())
            base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        parsed.defects.append(f"part {number}: invalid base64")
    except Exception:  # reading the header itself failed: the walker notes the part
        return


def _decode_part(part: Message, parsed: ParsedMail) -> str:
    data: Any = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        raw = part.get_payload()
        data = raw.encode("utf-8", errors="replace") if isinstance(raw, str) else b""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text, defect = decode_bytes(data, charset)
    if defect:
        parsed.defects.append(defect)
    return text.replace("\r\n", "\n")


def _cap(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[: limit - len(TRUNCATED.encode("utf-8"))].decode("utf-8", errors="ignore") + TRUNCATED
