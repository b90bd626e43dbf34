"""Issue 14: a compressed body names its zlib dictionary by Adler-32, so a dictionary file that
changed would leave every body written with it unreadable. Each stays as it was committed."""

from __future__ import annotations

import zlib
from pathlib import Path

STORE = Path(__file__).resolve().parents[2] / "chalicelib" / "store"


def test_the_body_dictionaries_never_change() -> None:
    from chalicelib.store.communications import _DICTIONARIES

    # Given the dictionaries bodies are compressed with, oldest first
    checksums = {name: zlib.adler32((STORE / name).read_bytes()) for name in _DICTIONARIES}
    # Then each is the file bodies were written with (a better one is a new file, added last)
    assert checksums == {
        "email_bodies.zdict": 0xC9410D1D,
        "tracking_alerts.zdict": 0x323D7049,
        "tracking_alerts_2.zdict": 0x8BDCA796,
        "email_bodies_2.zdict": 0xE0D65A8E,
    }


def test_a_body_reads_back_whatever_dictionary_wrote_it() -> None:
    from chalicelib.store.communications import _compress, _decompress

    # Given a body compressed with each dictionary, and one with none
    body = '["Hola Ana:\\n\\nHay una novedad en su envío TRK-1.", "<p>Hola Ana:</p>"]'.encode()
    names = ("email_bodies.zdict", "tracking_alerts.zdict", "tracking_alerts_2.zdict", "email_bodies_2.zdict")
    packed = [_compress(body, name) for name in names]
    packed.append(zlib.compress(body))
    # Then each reads back as it was, the tracking dictionary's the shortest
    assert [_decompress(p) for p in packed] == [body] * 5
    assert len(packed[1]) < len(packed[0]) and len(packed[2]) < len(packed[0])
