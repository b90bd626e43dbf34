"""The access report's ZIP written in parts across processes (``core.zip_parts``): what Python's
``zipfile`` reads back, CRCs checked."""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import UTC, datetime

from chalicelib.core.zip_parts import ZipParts

WHEN = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


def test_an_archive_cut_anywhere_and_taken_up_from_its_state_alone_is_one_valid_zip() -> None:
    # Given entries written by three "processes", each starting from the state the last one left
    # (passed through JSON), one entry cut twice in the middle of its data
    noise = os.urandom(50_000)
    parts: list[bytes] = []
    writer = ZipParts(moment=WHEN)
    writer.begin("data.json")
    writer.write(b'{"a": [' + b"1, " * 10_000)
    parts.append(writer.cut())
    writer = ZipParts(json.loads(json.dumps(writer.state)), moment=WHEN)
    writer.write(b"2]}")
    parts.append(writer.cut())
    writer = ZipParts(json.loads(json.dumps(writer.state)), moment=WHEN)
    writer.write(b"")
    writer.end()
    writer.begin("files/ñandú.bin")
    writer.write(noise)
    writer.end()
    writer.begin("empty.txt")
    writer.end()
    writer.finish()
    parts.append(writer.cut())
    # When the parts are joined
    joined = b"".join(parts)
    assert len(joined) == writer.state["length"]
    # Then zipfile reads every entry back whole (its CRC checked)
    archive = zipfile.ZipFile(io.BytesIO(joined))
    assert archive.testzip() is None
    assert archive.read("data.json") == b'{"a": [' + b"1, " * 10_000 + b"2]}"
    assert archive.read("files/ñandú.bin") == noise
    assert archive.read("empty.txt") == b""
    assert archive.getinfo("data.json").date_time == (2026, 12, 6, 9, 30, 0)


def test_an_archive_of_more_entries_than_a_plain_zip_holds_has_a_zip64_directory() -> None:
    writer = ZipParts(moment=WHEN)
    for n in range(0x10000 + 5):
        writer.begin(f"{n}")
        writer.end()
    writer.finish()
    archive = zipfile.ZipFile(io.BytesIO(writer.cut()))
    assert len(archive.namelist()) == 0x10000 + 5
    assert archive.read("65540") == b""
