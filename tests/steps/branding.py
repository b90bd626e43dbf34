"""Branding (W3) as tests need it: a company's settings through the API, and real images."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

from chalice.test import Client

from tests.steps.tenants import Tenant


def png(width: int = 240, height: int = 48, rgb: tuple[int, int, int] = (200, 16, 46)) -> bytes:
    """A real PNG image of one colour (what a company's logo file is, as far as bytes go)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)


def set_branding(api: Client, tenant: Tenant, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    return api.http.patch(
        "/company/branding", headers=headers or tenant.admin_headers(), body=json.dumps(fields)
    )


def upload_logo(api: Client, tenant: Tenant, data: bytes) -> Any:
    return api.http.put(
        "/company/branding/logo",
        headers=tenant.admin_headers(),
        body=json.dumps({"content_base64": base64.b64encode(data).decode()}),
    )


def remove_logo(api: Client, tenant: Tenant) -> Any:
    return api.http.delete("/company/branding/logo", headers=tenant.admin_headers())


def get_branding(api: Client, tenant: Tenant) -> Any:
    return api.http.get("/company/branding", headers=tenant.staff_headers())
