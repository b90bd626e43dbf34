"""Compose e-mail as MIME: HTML with a plain-text alternative, Message-ID, no header injection."""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import replace
from email.generator import BytesGenerator
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr, quote
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import quote as percent_encoded

from chalicelib.channels.base import OutgoingChannelMessage, WireEmail
from chalicelib.core.clock import now
from chalicelib.core.domain import SenderAccount
from chalicelib.core.links import address_domain
from chalicelib.core.names import ascii_file_name, attachment_name, strip_invisible


class HeaderInjection(ValueError):
    """A header value carried a line break: refused rather than sent."""


# Headers whose value is a list of <URL>s (RFC 2369). They may not be folded inside a URL nor
# written as RFC 2047 encoded-words: Gmail and Yahoo then show no one-click button (RFC 8058).
_URL_LIST_HEADERS = frozenset(
    {"list-unsubscribe", "list-help", "list-subscribe", "list-post", "list-archive"}
)
# Headers whose value is a list of msg-ids (RFC 5322 3.6.4). ``email`` (3.11) reads them as free
# text and writes a msg-id longer than a line (an Outlook one, or our reference of a company with
# a long id) as encoded-words, which no mail program matches to a Message-ID: the thread breaks.
_MSG_ID_LIST_HEADERS = frozenset({"in-reply-to", "references"})
_ITEM = re.compile(r"<[^<>\s]*>")
MAX_LINE = 998  # RFC 5322 2.1.1: a line may hold up to 998 characters before CRLF
# RFC 2045 6.7-6.8: quoted-printable and base64 lines of at most 76 characters; folding headers
# at 76 also keeps every RFC 2047 encoded-word within its 75 (``email`` fills a 78-column line
# with one of 76). 7-bit: a body that is not ASCII goes quoted-printable or base64, never as 8-bit
# bytes (``smtplib.sendmail`` asks for no 8BITMIME, and a relay that converts 8-bit text to 7-bit
# breaks the DKIM signature).
WIRE_LINE = 76
_Policy = TypeVar("_Policy", bound="EmailPolicy[Any]")


def wire_policy(policy: _Policy) -> _Policy:
    """``policy`` as our e-mails go on the wire: 7-bit, lines of at most 76 characters."""
    return policy.clone(max_line_length=WIRE_LINE, cte_type="7bit")


class _ItemListHeader(str):
    """A header whose value is a list of ``<...>`` items, written as ``email`` would not: never as
    encoded-words and folded only between two items, never inside one.

    A URL list goes on one line while it fits in an RFC 5322 line (Gmail reads a folded one
    less well); a msg-id list is folded between msg-ids at the policy's line length. ``email``
    stores and writes a value with a ``name`` and a ``fold`` method as it is
    (``EmailPolicy.header_store_parse`` / ``_fold``)."""

    name: str
    items: list[str]
    separator: str
    one_line: int  # the longest line written unfolded; 0: the policy's line length

    def __new__(
        cls, name: str, value: str, items: list[str], separator: str, one_line: int
    ) -> _ItemListHeader:
        header = super().__new__(cls, value)
        header.name, header.items, header.separator, header.one_line = name, items, separator, one_line
        return header

    def fold(self, *, policy: Any) -> str:
        linesep = getattr(policy, "linesep", "\n")
        width = getattr(policy, "max_line_length", None) or MAX_LINE
        joined = f"{self.name}: {self.separator.join(self.items)}"
        if len(joined) <= (self.one_line or width):
            return joined + linesep
        lines = [f"{self.name}:"]
        glue = self.separator.rstrip()  # "," between URLs, nothing between msg-ids
        for n, item in enumerate(self.items):
            piece = item + (glue if n < len(self.items) - 1 else "")
            if n and len(lines[-1]) + 1 + len(piece) > width:
                lines.append("")
            lines[-1] += " " + piece
        return linesep.join(lines) + linesep


def _header_value(name: str, value: str) -> str:
    """URL-list and msg-id-list headers made only of ``<...>`` items are written as
    :class:`_ItemListHeader`; any other value as ``email`` writes it."""
    key = name.lower()
    if key not in _URL_LIST_HEADERS and key not in _MSG_ID_LIST_HEADERS:
        return value
    items = _ITEM.findall(value)
    if not items or not value.isascii() or _ITEM.sub("", value).strip(", \t"):
        return value
    if key in _URL_LIST_HEADERS:
        return _ItemListHeader(name, value, items, ", ", MAX_LINE)
    return _ItemListHeader(name, value, items, " ", 0)


# An attachment's name goes twice in each of its Content-Type (``name``) and Content-Disposition
# (``filename``): as RFC 2231's ``filename*=utf-8''...`` (the name itself), then as a quoted ASCII
# spelling of it (RFC 2045/2183) for the mail programs that ignore ``filename*`` (older Outlook,
# some webmail: ``ATT00001.bin``, ``noname``). ``filename*`` goes first: a reader that knows both
# takes it wherever it is (RFC 6266 4.3), but Python's ``email`` takes the first one it meets.
ASCII_NAME_MAX = 60  # the fallback fits one 76-character line: `` filename="<60>"``


class _AttachmentHeader(str):
    """``Content-Type`` or ``Content-Disposition`` of an attachment, its name in both forms, one
    parameter a line; a ``filename*`` longer than a line is cut in RFC 2231 sections
    (``filename*0*=utf-8''...;``, ``filename*1*=...;``) between two characters, never inside one.
    ``email`` writes a value with a ``name`` and a ``fold`` method as it is (see
    :class:`_ItemListHeader`); it would keep only one of two parameters of the same name."""

    name: str
    lead: str
    param: str
    filename: str
    fallback: str

    def __new__(cls, name: str, lead: str, param: str, filename: str) -> _AttachmentHeader:
        fallback = ascii_file_name(filename, ASCII_NAME_MAX)
        value = f"{lead}; {param}*=utf-8''{percent_encoded(filename, safe='')}; {param}=\"{fallback}\""
        header = super().__new__(cls, value)
        header.name, header.lead, header.param = name, lead, param
        header.filename, header.fallback = filename, fallback
        return header

    def fold(self, *, policy: Any) -> str:
        linesep = getattr(policy, "linesep", "\n")
        width = getattr(policy, "max_line_length", None) or MAX_LINE
        encoded = [percent_encoded(c, safe="") for c in self.filename]
        lines = [f"{self.name}: {self.lead};"]
        whole = f" {self.param}*=utf-8''{''.join(encoded)};"
        if len(whole) <= width:
            lines.append(whole)
        else:
            section = f" {self.param}*0*=utf-8''"
            for piece in encoded:
                if len(section) + len(piece) + 1 > width:
                    lines.append(section + ";")
                    section = f" {self.param}*{len(lines) - 1}*="
                section += piece
            lines.append(section + ";")
        lines.append(f' {self.param}="{self.fallback}"')
        return linesep.join(lines) + linesep


# An e-mail is a channel message with its e-mail fields filled in.
OutgoingEmail = OutgoingChannelMessage


def _clean(value: str, name: str) -> str:
    if "\r" in value or "\n" in value:
        raise HeaderInjection(f"{name}: line breaks are not allowed in a header")
    return value


def _display_name(value: str, name: str) -> str:
    """A name shown in From/To: line breaks refused, other invisible characters dropped (names
    are checked when saved; this is the defence in depth for what was stored before)."""
    return strip_invisible(_clean(value, name)).strip()


def _ascii_domain(address: str) -> str:
    """An address whose domain only is not ASCII (``ana@ñandú.example``, as our address checks
    keep it) with the domain as its IDNA A-labels (``ana@xn--and-6ma2c.example``, RFC 5890),
    which every server and SES take: only a local part that is not ASCII needs SMTPUTF8."""
    local, _, domain = address.rpartition("@")
    if domain.isascii() or not local.isascii():
        return address
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(address, check_deliverability=False).ascii_email or address
    except EmailNotValidError:
        return address


def _mailbox(name: str, address: str) -> str:
    """``Name <address>``, one mailbox whatever the name holds.

    A name that is not ASCII goes to the header parser as a quoted string, not as the one
    encoded-word ``formataddr`` makes of it: ``email`` decodes that word and, folding again,
    encodes only the non-ASCII words and leaves the specials between them bare, so
    "Ferretería Los Andes, S.R.L." went out as ``=?utf-8?q?Ferreter=C3=ADa?= Los Andes, S.R.L.``:
    two mailboxes. From a quoted string it encodes the comma inside the word. ``formataddr``
    also refuses an address that is not ASCII (``josé@...``, RFC 6531), which goes out only with
    SMTPUTF8 (``channels.smtp``)."""
    if name.isascii() and address.isascii():
        return formataddr((name, address))
    return f'"{quote(name)}" <{address}>' if name else address


def list_id(from_address: str) -> str:
    """RFC 2919's ``List-Id`` of the e-mails a sender address sends to a list (a manual or bulk
    send, a parcel's alerts): ``<local part.domain>`` of that address, ``<avisos.cargasdelsur.com>``
    for ``avisos@cargasdelsur.com``, on a domain the company controls. The local part keeps the
    letters, digits and hyphens a list-label may hold (anything else becomes ``-``).

    An e-mail with ``List-Unsubscribe`` and no ``List-Id`` is a half-made list message to spam
    filters: SpamAssassin's ``__LIST_PARTIAL`` (``LIST_PARTIAL_SHORT_MSG``, a point for a short one
    without a DKIM signature) and the metas built on it (docs/deliverability.md)."""
    local, _, domain = _ascii_domain(from_address).rpartition("@")
    label = re.sub(r"[^A-Za-z0-9-]+", "-", local).strip("-") or "list"
    return f"<{label}.{domain.lower()}>"


def new_message_id(domain: str) -> str:
    return f"<{uuid.uuid4().hex}@{domain}>"


class _ReusedHeaders(HeaderRegistry):
    """``email``'s header registry, reusing what it made before (issue 14: CPU per e-mail).

    The stock registry builds a new header class for every header it parses (and for every
    ``max_count`` check), and parses the same values again for every message of a hand-off: the
    sender's ``From``, the subject of a bulk send, the ``Date`` of one second, each part's
    ``Content-Type`` and ``Content-Transfer-Encoding``... Here the classes are made once per header
    name and the parsed headers of the last ``_PARSED`` (name, value) pairs are reused: a header
    object is a parsed, immutable value, so the message is the one the stock registry makes."""

    _PARSED = 512

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}
        self._parse = lru_cache(maxsize=self._PARSED)(super().__call__)

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._classes.get(key)
        if made is None:
            made = self._classes[key] = super().__getitem__(name)
        return made

    def __call__(self, name: str, value: Any) -> Any:
        if type(name) is str and type(value) is str:
            return self._parse(name, value)
        return super().__call__(name, value)


class _ReusedFolds(EmailPolicy):
    """``email``'s default policy with :class:`_ReusedHeaders`; a reused header is folded once
    per policy setting that shapes its folded text, not once per message it is written in."""

    def _fold(self, name: str, value: Any, refold_binary: bool = False) -> str:
        if not isinstance(value, BaseHeader):
            folded: str = super()._fold(name, value, refold_binary)  # type: ignore[misc]
            return folded
        key = (name, self.linesep, self.max_line_length, self.utf8, self.cte_type, self.refold_source)
        folds = value.__dict__.setdefault("_folds", {})
        if key not in folds:
            folds[key] = value.fold(policy=self)
        text: str = folds[key]
        return text


_POLICY = wire_policy(_ReusedFolds(header_factory=_ReusedHeaders()))


# A whole document already: a doctype or an <html> tag first (after blanks and comments).
_WHOLE_DOCUMENT = re.compile(r"\s*(?:<!--.*?-->\s*)*<(?:!doctype|html[\s>])", re.IGNORECASE | re.DOTALL)


def html_document(html: str, title: str, language: str = "") -> str:
    """An e-mail's HTML as a whole HTML5 document (docs/web.md, Valid markup): as it is when it is
    one already (every default template; a company's own written whole), else the fragment (a
    company's template written as a few paragraphs, a notice to staff) inside ours: the doctype,
    ``<html>`` with ``lang`` when the caller knows the language its words are in, UTF-8 (as the
    MIME part says) and the subject as the ``<title>``. The fragment itself is the company's."""
    if _WHOLE_DOCUMENT.match(html):
        return html
    from html import escape

    lang = f' lang="{escape(language)}"' if language else ""
    return (
        f'<!DOCTYPE html>\n<html{lang}>\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title, quote=False)}</title>\n</head>\n<body>\n{html}\n</body>\n</html>\n"
    )


def compose(mail: OutgoingEmail, *, message_id: str, policy: EmailPolicy = _POLICY) -> EmailMessage:
    """Build the MIME message. Every header value is checked for CR/LF first. ``policy`` is for
    tests, which compose the same message with ``email``'s own default policy and compare."""
    msg = EmailMessage(policy=policy)
    msg["From"] = _mailbox(
        _display_name(mail.from_name, "from_name"), _ascii_domain(_clean(mail.from_address, "from"))
    )
    msg["To"] = _mailbox(_display_name(mail.to_name, "to_name"), _ascii_domain(_clean(mail.to_address, "to")))
    msg["Subject"] = _clean(mail.subject, "subject")
    msg["Date"] = format_datetime(now())
    msg["Message-ID"] = message_id
    if mail.reply_to:
        msg["Reply-To"] = _clean(mail.reply_to, "reply_to")
    for name, value in mail.headers.items():
        msg[_clean(name, "header name")] = _header_value(name, _clean(value, name))
    if "List-Unsubscribe" in msg and "List-Id" not in msg:
        msg["List-Id"] = list_id(_clean(mail.from_address, "from"))
    msg.set_content(mail.text, subtype="plain", charset="utf-8")
    if mail.html is not None:
        msg.add_alternative(html_document(mail.html, mail.subject), subtype="html", charset="utf-8")
    for filename, content_type, data in mail.attachments:
        maintype, _, subtype = content_type.partition("/")
        maintype, subtype = maintype or "application", subtype or "octet-stream"
        name = attachment_name(_clean(filename, "attachment name"))
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        parts: Any = msg.get_payload()
        part = parts[-1]  # the attachment just added
        part.replace_header(
            "Content-Type", _AttachmentHeader("Content-Type", f"{maintype}/{subtype}", "name", name)
        )
        part.replace_header(
            "Content-Disposition", _AttachmentHeader("Content-Disposition", "attachment", "filename", name)
        )
    return msg


def mime_of(message: OutgoingChannelMessage, account: SenderAccount) -> EmailMessage:
    """The MIME message an account sends: from the account's address and name unless the message
    names its own, with the message's Message-ID or a new one on the sender's domain."""
    message = replace(
        message,
        from_address=message.from_address or account.from_address,
        from_name=message.from_name or account.display_name,
    )
    message_id = message.message_id or new_message_id(address_domain(message.from_address))
    return compose(message, message_id=message_id)


def wire_of(mime: EmailMessage) -> WireEmail | None:
    """The bytes ``smtplib.SMTP.send_message`` would write for ``mime`` (CRLF lines, no Bcc) and
    its envelope, or None when an address is not ASCII: that message needs the server's SMTPUTF8,
    which only ``send_message`` negotiates."""
    sender = mime["From"].addresses[0].addr_spec
    recipients = tuple(a.addr_spec for a in mime["To"].addresses)
    if not all(a.isascii() for a in (sender, *recipients)):
        return None
    del mime["Bcc"]
    drawn = _drawn_boundaries(mime)
    data = _flattened(mime)
    if not all(data.count(b"\r\n--" + b.encode()) == len(part.get_payload()) + 1 for part, b in drawn):
        for part, _ in drawn:  # a body line met a boundary (by chance: 62 random bits): email's way
            part.del_param("boundary")
        data = _flattened(mime)
    return WireEmail(data, str(mime["Message-ID"]), sender, recipients)


def _flattened(mime: EmailMessage) -> bytes:
    with io.BytesIO() as out:
        BytesGenerator(out).flatten(mime, linesep="\r\n")
        return out.getvalue()


def _drawn_boundaries(part: Any) -> list[tuple[Any, str]]:
    """Give each multipart a boundary drawn as ``email``'s generator draws it (the same random
    call, inner parts first), without the generator's check: for that check it compiles a new
    regular expression per message, a sixth of composing a bulk e-mail (issue 14). The check is
    made on the bytes instead: each boundary must start exactly its part's delimiter lines."""
    drawn: list[tuple[Any, str]] = []
    if part.is_multipart():
        for sub in part.get_payload():
            drawn += _drawn_boundaries(sub)
        if part.get_boundary() is None:
            boundary = BytesGenerator._make_boundary()  # type: ignore[attr-defined]
            part.set_boundary(boundary)
            drawn.append((part, boundary))
    return drawn
