"""The gateway URLs Pregón shows its users as examples (the console's label, the API's description,
docs/sms.md) are ones the API accepts: the seed's "Dirección IP teléfono" invites a phone's office
LAN address, which the API refuses as private (Q7), so no example may suggest one."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
URL_HOST = re.compile(r"https?://([0-9.]+)[:/]")


def shown_examples() -> dict[str, str]:
    from chalicelib.api.schemas import SmsSettingsIn

    return {
        "console": (ROOT / "chalicelib" / "console" / "screen-sms.js").read_text(),
        "openapi": str(SmsSettingsIn.model_fields["base_url"].description),
        "docs/sms.md": (ROOT / "docs" / "sms.md").read_text(),
    }


def test_no_gateway_example_names_an_address_the_api_refuses() -> None:
    # Given every place that shows users a gateway URL
    # When the IP addresses in their examples are read
    refused = [
        f"{where}: {host}"
        for where, text in shown_examples().items()
        for host in URL_HOST.findall(text)
        if not ipaddress.ip_address(host).is_global and host != "203.0.113.50"
    ]
    # Then none is a private or loopback address (203.0.113.50 is the documentation range's stand-in
    # for a public one)
    assert refused == []
