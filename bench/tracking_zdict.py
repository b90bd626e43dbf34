"""Writes ``chalicelib/store/tracking_alerts_2.zdict``: the zlib preset dictionary tracking alert
bodies are compressed with (issue 14). The file must never change once bodies use it (a
compressed body names its dictionary by Adler-32): run again, it only checks that the committed
file is what it would write, and a better one is a new file. (``tracking_alerts.zdict``, the
first, was written the same way from the templates before session 38 added their footer and
preview text; bodies written with it still read back with it.)

    uv run python -m bench.tracking_zdict

It holds the default tracking alert (English, then Spanish: the nearer the end, the cheaper a
match) rendered as the store packs a body (``json.dumps([text, html])``, the unsubscribe link
left out as ``\\u0000``) with the default branding, for a status with a reason and an observation
and for one without, after the general dictionary's last part (the other default templates).
"""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.messaging.sandbox import default_template, render_untrusted
from chalicelib.tenants.branding import company_variables

TARGET = Path(__file__).resolve().parents[1] / "chalicelib" / "store" / "tracking_alerts_2.zdict"
SIZE = 32768  # zlib's window: what a dictionary can hold


def _body(language: str, status: str, reason: str | None, observation: str | None) -> bytes:
    variables = {
        "company": company_variables(None, "Empresa"),
        "subscriber": {"first_name": "Nombre", "last_name": "Apellido"},
        "subscription": {"expires_on": "1/12/2026"},
        "parcel": {
            "tracking_id": "TRK-0001",
            "url": "https://pregon.example/track/empresa?tracking_id=TRK-0001",
        },
        "novelty": {
            "status_name": status,
            "occurred_at": "1/11/2026 10:00",
            "reason": reason,
            "observation": observation,
        },
        "unsubscribe_url": "\x00",
    }
    rendered = render_untrusted(default_template("tracking_alert", language), variables)
    return json.dumps([rendered.text, rendered.html], ensure_ascii=False).encode()


def main() -> None:
    general = (TARGET.parent / "email_bodies.zdict").read_bytes()
    tail = b"".join(
        _body(language, status, reason, observation)
        for language in ("en", "es")
        for status, reason, observation in (
            ("Delivery attempted" if language == "en" else "Visita sin éxito", "Ausente", "Portería"),
            ("Out for delivery" if language == "en" else "En distribución", None, None),
        )
    )
    head = general[len(general) - (SIZE - len(tail)) :] if len(tail) < SIZE else b""
    write_once(TARGET, head + tail[-SIZE:])


def write_once(target: Path, made: bytes) -> None:
    """Write a dictionary file, or check that the committed one holds these bytes (exit 1 if not)."""
    if target.exists():
        # bodies compressed with it name it: never overwritten (a changed template needs a new file)
        same = target.read_bytes() == made
        print(f"{target} exists; {'the same bytes' if same else 'it differs: a better one is a new file'}")
        raise SystemExit(0 if same else 1)
    target.write_bytes(made)
    print(f"wrote {target} ({len(made)} bytes)")


if __name__ == "__main__":
    main()
