"""Hostile mail a stranger may send: the raw messages the inbound, mailbox and console tests share,
and receiving one through SES's path (tests/integration/test_inbound_hostile_mail.py)."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from tests.steps.inbound import INBOUND_BUCKET, detail, inbound_address, receive
from tests.steps.tenants import Tenant

HEAD = b"From: Mallory <mallory@attacker.example>\r\nTo: x@inbound.pregon.local\r\nSubject: hostile\r\n"


def hostile_received(api: Client, tenant: Tenant, raw: bytes) -> dict[str, Any]:
    """``raw`` reaches the company; the handler answers, and the message is logged once: its detail."""
    result = receive(api, raw, to=[inbound_address(tenant)], source="mallory@attacker.example")
    assert result["logged"] == 1, result
    shown = detail(api, tenant, result["communications"][0])
    assert shown["raw_key"].startswith(f"{INBOUND_BUCKET}/mail/")
    json.dumps(shown)  # valid text throughout
    return shown


def nested_multiparts(depth: int) -> bytes:
    out = [HEAD, b"MIME-Version: 1.0\r\n"]
    for n in range(depth):
        out.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n))
    out.append(b"Content-Type: text/plain\r\n\r\nthe bottom\r\n")
    out.extend(b"--b%d--\r\n" % n for n in reversed(range(depth)))
    return b"".join(out)


def nested_forwards(depth: int) -> bytes:
    out = [HEAD, b"MIME-Version: 1.0\r\n"]
    for n in range(depth):
        out.append(
            b"Content-Type: message/rfc822\r\n\r\nFrom: f%d@relay.example\r\nSubject: fwd %d\r\n" % (n, n)
        )
    out.append(b"Content-Type: text/plain\r\n\r\nthe bottom\r\n")
    return b"".join(out)


def tiny_parts(count: int) -> bytes:
    parts = b"".join(b"--B\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n" for _ in range(count))
    return HEAD + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n' + parts + b"--B--\r\n"


HOSTILE_HTML = (
    b"<html><head><meta http-equiv=refresh content='0;url=https://attacker.example/'>"
    b"<base href='https://attacker.example/'><style>p{width:expression(alert(1))}</style></head>"
    b"<body><script>parent.pwned=1</script><p>Pay here</p>"
    b"<img src='https://attacker.example/pixel.gif'></body></html>"
)


def incompressible_text(size: int) -> bytes:
    """``size`` bytes of text no compression makes much smaller (random letters and digits)."""
    import base64
    import os

    return base64.b64encode(os.urandom(size))[:size]


def with_attachments(head: bytes, text: bytes) -> bytes:
    """A message of ``head`` with ``text`` as its body and two attachments (a PDF and a CSV)."""
    return (
        head + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="A"\r\n\r\n'
        b"--A\r\nContent-Type: text/plain\r\n\r\n" + text + b"\r\n"
        b"--A\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="remito.pdf"\r\n\r\n%PDF-1.4 remito\r\n'
        b"--A\r\nContent-Type: text/csv\r\n"
        b'Content-Disposition: attachment; filename="saldos.csv"\r\n\r\ncliente;saldo\r\n--A--\r\n'
    )


def company_files(company_id: str, purpose: str) -> list[str]:
    """The keys of the company's kept files of one purpose (``inbound``, ``mailbox``, ...)."""
    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings

    listed = client("s3").list_objects_v2(
        Bucket=get_settings().files_bucket, Prefix=f"{company_id}/{purpose}/"
    )
    return sorted(o["Key"] for o in listed.get("Contents", []))
