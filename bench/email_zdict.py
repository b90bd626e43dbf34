"""Writes ``chalicelib/store/email_bodies_2.zdict``: the zlib preset dictionary every e-mail body
but a tracking alert's is compressed with (issue 14): the default Spanish e-mail templates, text
and HTML, as the store packs a body (``json.dumps([text, html])``), the most sent last (the nearer
the end, the cheaper a match), cut to zlib's 32 KB window. The file must never change once bodies
use it (a compressed body names its dictionary by Adler-32): run again, it only checks that the
committed file is what it would write, and a better one is a new file. (``email_bodies.zdict``,
the first, held the templates before session 38 added their footer and preview text; bodies
written with it still read back with it.)

    uv run python -m bench.email_zdict
"""

from __future__ import annotations

import json
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "es"
TARGET = Path(__file__).resolve().parents[1] / "chalicelib" / "store" / "email_bodies_2.zdict"
SIZE = 32768  # zlib's window: what a dictionary can hold
# Least sent first: the window keeps the last 32 KB (tracking alerts have their own dictionary).
KINDS = (
    "tracking_alert",
    "purchase_order",
    "order",
    "pickups_confirmed",
    "pickup_approved",
    "tracking_confirmation",
    "ticket",
    "statement",
    "reminder",
    "payment",
    "invoice",
)


def main() -> None:
    from bench.tracking_zdict import write_once

    made = b"".join(
        json.dumps(
            [(TEMPLATES / f"{kind}.txt").read_text(), (TEMPLATES / f"{kind}.html").read_text()],
            ensure_ascii=False,
        ).encode()
        for kind in KINDS
    )[-SIZE:]
    write_once(TARGET, made)


if __name__ == "__main__":
    main()
