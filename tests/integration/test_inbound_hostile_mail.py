"""I3 against an attacker: anyone can send any bytes as an e-mail to the company's inbound address.
Whatever arrives, the handler answers (no crash that would have SNS retry it and then drop it),
the message is logged with its raw S3 key and an ``error`` naming what was wrong, reading it is
bounded in time and memory, and nothing the sender wrote is stored or shown as markup or headers.

Each message goes the real way (``receive``: S3, SES's notification, the deployed SNS handler)
and is read back through the API, as staff see it.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
import requests
from chalice.test import Client

from tests.steps.hostile_mail import (
    HEAD,
    HOSTILE_HTML,
    company_files,
    hostile_received,
    incompressible_text,
    nested_forwards,
    nested_multiparts,
    tiny_parts,
    with_attachments,
)
from tests.steps.tenants import Tenant

CONTROL = {chr(c) for c in range(32)} | {"\x7f"}


# --- MIME structure ------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [nested_multiparts(3000), nested_forwards(3000)], ids=["multipart", "rfc822"])
def test_mime_nested_thousands_deep_is_logged_from_its_headers_saying_so(
    api: Client, tenant: Tenant, raw: bytes
) -> None:
    # When a message nests 3,000 levels deep arrives
    shown = hostile_received(api, tenant, raw)
    # Then it is logged under its own sender and subject, and its error says it is nested too deep
    assert (shown["from_address"], shown["subject"]) == ("mallory@attacker.example", "hostile")
    assert "nested too deep" in shown["error"]


def test_fifty_thousand_tiny_parts_are_read_up_to_a_limit_quickly(api: Client, tenant: Tenant) -> None:
    # When a message of 50,000 one-byte parts arrives
    started = time.process_time()
    shown = hostile_received(api, tenant, tiny_parts(50_000))
    # Then reading it takes a few seconds at most (it took 14 s of CPU, and a 40 MB one would
    # have passed the Lambda's 60 s), and the error says only the first parts were read
    assert time.process_time() - started < 8
    assert "more than 1000 MIME parts" in shown["error"]
    assert len(shown["attachments"]) == 50 and shown["subject"] == "hostile"


@pytest.mark.parametrize(
    ("raw", "text", "defect"),
    [
        (
            HEAD + b'Content-Type: multipart/mixed; boundary="X"\r\n\r\n--X\r\n'
            b"Content-Type: text/plain\r\n\r\nnever closed\r\n",
            "never closed",
            "CloseBoundaryNotFoundDefect",
        ),
        (
            HEAD + b'Content-Type: multipart/mixed; boundary=""\r\n\r\n--\r\n'
            b"Content-Type: text/plain\r\n\r\nempty boundary\r\n----\r\n",
            "empty boundary",
            None,
        ),
        (
            HEAD
            + b'Content-Type: multipart/mixed; boundary="'
            + b"q" * 300
            + b'"\r\n\r\n--'
            + b"q" * 300
            + b"\r\n"
            b"Content-Type: text/plain\r\n\r\nlong boundary\r\n--" + b"q" * 300 + b"--\r\n",
            "long boundary",
            None,
        ),
    ],
    ids=["unclosed", "empty", "300-characters"],
)
def test_odd_boundaries_are_read(
    api: Client, tenant: Tenant, raw: bytes, text: str, defect: str | None
) -> None:
    shown = hostile_received(api, tenant, raw)
    assert text in shown["text"]
    if defect:
        assert defect in shown["error"]


# --- headers -------------------------------------------------------------------------------------------


def test_a_hundred_thousand_header_lines_and_a_5_mb_subject_are_cut(api: Client, tenant: Tenant) -> None:
    raw = (
        b"From: mallory@attacker.example\r\n"
        + b"X-Filler: v\r\n" * 100_000
        + b"Subject: "
        + b"A" * (5 * 2**20)
        + b"\r\n\r\nbody\r\n"
    )
    shown = hostile_received(api, tenant, raw)
    assert shown["subject"] == "A" * 998 and shown["text"] == "body\n"


def test_encoded_words_that_are_broken_or_in_unknown_charsets_are_read_as_text(
    api: Client, tenant: Tenant
) -> None:
    raw = (
        b"From: =?x-unknown?B?TWFsbG9yeQ==?= <mallory@attacker.example>\r\n"
        b"Subject: =?x-unknown?B?aG9sYQ==?= =?utf-8?B?!!notbase64?= =?utf-8?Q?=ZZ=?= "
        b"=?=?utf-8?B?aGk=?=?= " + b" ".join([b"=?utf-8?B?aGk=?="] * 10_000) + b"\r\n\r\nbody\r\n"
    )
    shown = hostile_received(api, tenant, raw)
    assert shown["subject"].startswith("hola") and len(shown["subject"]) <= 998
    assert shown["from_name"] == "Mallory"


def test_nul_and_bare_cr_in_headers_and_body_are_not_kept_in_what_is_shown_on_one_line(
    api: Client, tenant: Tenant
) -> None:
    raw = (
        b"From: Mal\x00lory\x1b[31m <mallory@attacker.example>\r\n"
        b"Subject: Invoice\x00 paid\rBcc: victim@example.com\r\n"
        b"References: <ok@attacker.example> <bad\x01id@attacker.example> <nul\x00id@attacker.example>\r\n"
        b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
        b"Content-Type: text/plain\r\n\r\nline\x00one\rline two\r\n"
        b"--B\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="in\x00voice\r.pdf"\r\n\r\n%PDF-\r\n--B--\r\n'
    )
    shown = hostile_received(api, tenant, raw)
    # Then the one-line fields carry no control character (nothing to smuggle a header or a
    # terminal escape with); the body keeps its text without NULs
    for value in (shown["subject"], shown["from_name"], *(a["name"] for a in shown["attachments"])):
        assert not CONTROL & set(value), value
    assert shown["subject"].startswith("Invoice paid")
    # and an id with a control character in it is no id (a reply from the register would carry it)
    assert shown["headers"]["References"] == "<ok@attacker.example>"
    assert "\x00" not in shown["text"] and "lineone" in shown["text"]


FIVE_MB = 5 * 2**20


@pytest.mark.parametrize(
    "header",
    [
        b"Subject: " + b"=?utf-8?B?aGk=?= " * (FIVE_MB // 17),
        b"Subject: " + b"=?utf-8?B?!!?= " * (FIVE_MB // 16),
        b"From: mallory@attacker.example, " + b"<" * FIVE_MB,
        b"Content-Type: text/plain; " + b"a=b; " * (FIVE_MB // 5),
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: application/pdf\r\n'
        b"Content-Disposition: attachment; " + b"".join(b"filename*%d=a; " % n for n in range(200_000)),
    ],
    ids=["encoded-words", "broken-encoded-words", "angle-brackets", "parameters", "rfc2231-continuations"],
)
def test_a_header_of_megabytes_is_read_within_seconds(api: Client, tenant: Tenant, header: bytes) -> None:
    # Given a header of megabytes that the standard library reads in time growing faster than
    # its size (each of these took over a minute: the Lambda's whole time, at every retry)
    raw = b"From: mallory@attacker.example\r\n" + header + b"\r\n\r\nbody\r\n--B--\r\n"
    # When it arrives, Then it is logged within seconds
    started = time.process_time()
    hostile_received(api, tenant, raw)
    assert time.process_time() - started < 8


def test_a_from_of_a_thousand_addresses_files_nothing_under_a_client(api: Client, tenant: Tenant) -> None:
    raw = (
        b"From: "
        + b", ".join(b"u%d@example.com" % n for n in range(1000))
        + b"\r\nSubject: many\r\n\r\nx\r\n"
    )
    shown = hostile_received(api, tenant, raw)
    assert shown["unassigned"] is True and "no single From address" in shown["error"]


@pytest.mark.parametrize(
    "date",
    [
        b"Mon, 1 Jan 99999 00:00:00 +0000",
        b"Mon, 99 Foo 2026 99:99:99 +9999",
        b"\x00\xff",
        b"Fri, 31 Dec 9999 23:59:59 -1200",  # past the last UTC datetime
    ],
)
def test_an_impossible_date_is_named_and_the_message_logged(api: Client, tenant: Tenant, date: bytes) -> None:
    shown = hostile_received(api, tenant, HEAD + b"Date: " + date + b"\r\n\r\nbody\r\n")
    assert shown["sent_at"] is None and "unreadable Date" in shown["error"]


def test_message_ids_of_a_megabyte_or_ten_thousand_ids_are_cut_and_the_message_logged(
    api: Client, tenant: Tenant
) -> None:
    # Given a Message-ID of 1 MB (the by-rfc-message index takes keys of at most 2,048 bytes),
    # References of 10,000 ids and an In-Reply-To of one 1 MB word
    raw = (
        HEAD
        + b"Message-ID: <"
        + b"a" * 2**20
        + b"@attacker.example>\r\nReferences: "
        + b" ".join(b"<id%d@attacker.example>" % n for n in range(10_000))
        + b"\r\nIn-Reply-To: "
        + b"x@" * 2**19
        + b"\r\n\r\nbody\r\n"
    )
    # When it arrives, Then it is logged (it was not: the write failed, and SNS retried it and
    # dropped it), without the Message-ID, saying why
    shown = hostile_received(api, tenant, raw)
    assert "Message-ID" not in shown["headers"] and "In-Reply-To" not in shown["headers"]
    assert "Message-ID over 500 characters" in shown["error"]
    assert len(shown["headers"]["References"]) <= 2000
    assert shown["text"] == "body\n"


# --- bodies --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "data", "text"),
    [
        (b"utf-7", b"+ADw-b+AD4-hola+ADw-/b+AD4-", "<b>hola</b>"),
        (b"x-unknown", b"caf\xe9", "café"),
        (b"utf-16", "hola".encode("utf-16-be"), "hola"),  # no byte order mark: big-endian
        (b"utf-16", "hola".encode("utf-16-le"), "hola"),
        (b"utf-8", b"ok \xff\xfe\xc3( ok", "ok \ufffd\ufffd\ufffd( ok"),
        (b"x-klingon", b"plain", "plain"),
    ],
)
def test_odd_charsets_are_decoded_as_text(
    api: Client, tenant: Tenant, charset: bytes, data: bytes, text: str
) -> None:
    raw = (
        HEAD
        + b"Content-Type: text/plain; charset="
        + charset
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(data)
        + b"\r\n"
    )
    shown = hostile_received(api, tenant, raw)
    assert shown["text"].strip() == text
    assert shown["html"] is None  # a UTF-7 "<b>" is text, never HTML


def test_a_30_mb_line_is_cut_to_what_the_record_keeps(api: Client, tenant: Tenant) -> None:
    shown = hostile_received(api, tenant, HEAD + b"\r\n" + b"A" * (30 * 2**20) + b"\r\n")
    assert shown["text"].startswith("AAAA") and shown["text"].endswith("kept in the raw mail]")
    assert len(shown["text"].encode()) <= 60_000


def test_base64_with_garbage_is_named(api: Client, tenant: Tenant) -> None:
    raw = HEAD + b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naG9s!!!@@YQ==\r\n"
    shown = hostile_received(api, tenant, raw)
    assert "invalid base64" in shown["error"]


def test_hostile_html_is_kept_as_the_message_and_answered_as_json(api: Client, tenant: Tenant) -> None:
    # When an HTML message with script, a refresh, a base and remote images arrives
    shown = hostile_received(api, tenant, HEAD + b"Content-Type: text/html\r\n\r\n" + HOSTILE_HTML)
    # Then the API returns it as data (the console shows it in a sandboxed frame: see
    # test_console_work_clients), and the text made from it carries no markup
    assert "<script>" in shown["html"]
    assert "Pay here" in shown["text"] and "<" not in shown["text"] and "alert" not in shown["text"]


@pytest.mark.parametrize("filler", [b"<script>", b"<style>", b"<"], ids=["script", "style", "lt"])
def test_html_of_unclosed_tags_is_made_text_quickly(api: Client, tenant: Tenant, filler: bytes) -> None:
    # Given an HTML-only message of 40,000 unclosed tags (its text is made from the HTML: that
    # took 8 s for 128 KB of "<script>", growing with the square of the size, past the Lambda's
    # 60 s long before SES's 40 MB)
    raw = HEAD + b"Content-Type: text/html\r\n\r\n<p>Pay here</p>" + filler * 40_000
    started = time.process_time()
    shown = hostile_received(api, tenant, raw)
    # Then it is logged within seconds, its text what comes before them
    assert time.process_time() - started < 5
    assert shown["text"].startswith("Pay here")


# --- attachments ---------------------------------------------------------------------------------------


def attachment(name: bytes, content_type: bytes, data: bytes) -> bytes:
    return (
        b"--B\r\nContent-Type: "
        + content_type
        + b'\r\nContent-Disposition: attachment; filename="'
        + name
        + b'"\r\n\r\n'
        + data
        + b"\r\n"
    )


def test_hostile_attachment_names_and_types_are_downloaded_as_inert_files(
    api: Client, tenant: Tenant
) -> None:
    # Given a message whose attachments have a path, a NUL, 5,000 characters, a right-to-left
    # override faking ".pdf", and HTML / SVG carrying script
    raw = (
        HEAD
        + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee\r\n'
        + attachment(b"../../etc/passwd", b"text/plain", b"root")
        + attachment(b"a\x00b.txt", b"text/plain", b"nul")
        + attachment(b"x" * 5000 + b".pdf", b"application/pdf", b"%PDF-")
        + attachment("invoice\u202efdp.exe".encode(), b"application/octet-stream", b"MZ")
        + attachment(b"page.html", b"text/html", b"<script>alert(document.cookie)</script>")
        + attachment(
            b"logo.svg", b"image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"
        )
        + attachment(b"weird.bin", b"text/html\x01", b"?")
        + b"--B--\r\n"
    )
    shown = hostile_received(api, tenant, raw)
    names = [a["name"] for a in shown["attachments"]]
    # Then the names are base names without control or bidi characters, at most 120 characters
    assert names[:2] == ["passwd", "ab.txt"]
    assert len(names[2]) == 120 and names[2].endswith(".pdf")
    assert names[3] == "invoicefdp.exe"
    # And every download is an attachment (never shown inline), and one that could run script in a
    # browser is answered as application/octet-stream, whatever the sender declared
    for item in shown["attachments"]:
        download = requests.get(item["download_url"], timeout=10)
        assert download.status_code == 200
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert "\n" not in download.headers["Content-Disposition"]
    by_name = {a["name"]: a for a in shown["attachments"]}
    for name in ("page.html", "logo.svg", "weird.bin"):
        download = requests.get(by_name[name]["download_url"], timeout=10)
        assert download.headers["Content-Type"] == "application/octet-stream", name
    assert requests.get(by_name["passwd"]["download_url"], timeout=10).headers["Content-Type"] == "text/plain"


@pytest.mark.parametrize(
    "sender",
    [b"a" * 2**20 + b"@attacker.example", b'"' + b"M" * 2**20 + b'" <mallory@attacker.example>'],
    ids=["a-megabyte-address", "a-megabyte-name"],
)
def test_a_from_of_a_megabyte_is_logged_without_it(api: Client, tenant: Tenant, sender: bytes) -> None:
    # When the From header holds an address (or a name) of 1 MB (a client address lookup takes
    # keys of at most 2,048 bytes, a record 400 KB)
    shown = hostile_received(
        api, tenant, b"From: " + sender + b"\r\nSubject: big\r\n" + b"To: " + sender + b"\r\n\r\nx\r\n"
    )
    # Then the message is logged, the address read only when it can be one (at most 254 characters)
    assert shown["subject"] == "big"
    assert len(shown["from_address"] or "") <= 254 and len(shown["from_name"] or "") <= 200


def test_a_message_that_cannot_be_logged_as_read_is_logged_from_its_envelope_saying_why(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a message that makes reading it fail in a way nobody foresaw (here: the parser made to fail)
    from chalicelib.records import inbound_mail

    def unforeseen(raw: bytes) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(inbound_mail, "parse_mail", unforeseen)
    # When it arrives, Then the handler answers (no retry that SNS would end by dropping it): the
    # message is logged from SES's envelope, with its raw S3 key and an error saying what failed
    shown = hostile_received(api, tenant, HEAD + b"\r\nbody\r\n")
    assert shown["from_address"] == "mallory@attacker.example" and shown["unassigned"] is True
    assert "could not be read (RecursionError)" in shown["error"] and "raw" in shown["error"]


def test_a_message_logged_from_its_envelope_leaves_no_attachment_that_no_record_names(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a message with two attachments whose record DynamoDB then refuses (here: the bound on
    # the text kept lifted, so that 1 MB of text that does not compress goes past 400 KB an item)
    from chalicelib.records import mime

    monkeypatch.setattr(mime, "MAX_TEXT_BYTES", 2**21)
    # When it arrives
    shown = hostile_received(api, tenant, with_attachments(HEAD, incompressible_text(2**20)))
    # Then it is logged from SES's envelope, naming no attachment (the raw mail still holds them)
    assert "could not be read" in shown["error"] and shown["attachments"] == []
    # And the attachments the failed attempt had kept are gone: no file of the company's
    # received mail is left that no record names
    assert company_files(tenant.company_id, "inbound") == []
    # And the operator's log says how many were deleted, and why
    [deleted] = [r for r in caplog.records if "that no record names deleted" in r.getMessage()]
    assert (vars(deleted)["deleted"], vars(deleted)["not_deleted"]) == (2, 0)
    assert vars(deleted)["why"] == "its record could not be written"
