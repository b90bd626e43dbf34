"""A ZIP archive written as a stream in parts, across processes (a client's access report built
over several worker runs: docs/decisions/0038-a-clients-access-report.md, session 40).

Each entry is deflated with a data descriptor after its data (its CRC and sizes are known only at
its end), so its bytes can be cut anywhere: at a cut the deflate stream is flushed to a byte
boundary (``Z_FULL_FLUSH``, no window carried over), and a later process goes on with a fresh
compressor; the whole is one valid deflate stream. What a later process needs to go on is
:attr:`ZipParts.state` (plain JSON: the stream's length, each finished entry's directory record
and the open one's running CRC and sizes); the bytes themselves are kept elsewhere (S3) between
cuts. The central directory is written at the end, in ZIP64 form when the archive needs it (over
4 GiB or 65,535 entries): Python's ``zipfile``, Info-ZIP and 7-Zip read it.
"""

from __future__ import annotations

import struct
import zlib
from datetime import datetime
from typing import Any

_LOCAL = 0x04034B50
_DESCRIPTOR = 0x08074B50
_CENTRAL = 0x02014B50
_END = 0x06054B50
_END64 = 0x06064B50
_LOCATOR64 = 0x07064B50
_FLAGS = 0x08 | 0x800  # sizes in a data descriptor; names in UTF-8
_DEFLATED = 8
_MAX32 = 0xFFFFFFFF


def _dos_time(moment: datetime) -> tuple[int, int]:
    moment = max(moment, datetime(1980, 1, 1, tzinfo=moment.tzinfo))
    return (
        (moment.hour << 11) | (moment.minute << 5) | (moment.second // 2),
        ((moment.year - 1980) << 9) | (moment.month << 5) | moment.day,
    )


class ZipParts:
    """The archive's bytes since the last :meth:`cut`, and its state (:attr:`state`)."""

    def __init__(self, state: dict[str, Any] | None = None, *, moment: datetime) -> None:
        self.state: dict[str, Any] = state or {"length": 0, "entries": [], "open": None}
        self._time, self._date = _dos_time(moment)
        self._pending = bytearray()
        self._compressor: Any = None

    @property
    def pending(self) -> int:
        """How many bytes are written since the last cut."""
        return len(self._pending)

    def _emit(self, data: bytes) -> None:
        self._pending += data
        self.state["length"] += len(data)

    def begin(self, name: str) -> None:
        """Open the entry ``name`` (one at a time)."""
        assert self.state["open"] is None, "an entry is open"
        raw = name.encode()
        header = struct.pack(
            "<IHHHHHIIIHH", _LOCAL, 20, _FLAGS, _DEFLATED, self._time, self._date, 0, 0, 0, len(raw), 0
        )
        self.state["open"] = {"name": name, "offset": self.state["length"], "crc": 0, "size": 0, "packed": 0}
        self._emit(header + raw)

    def write(self, data: bytes) -> None:
        """Add ``data`` to the open entry."""
        entry = self.state["open"]
        if self._compressor is None:  # a new process goes on where a cut left the stream
            self._compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        entry["crc"] = zlib.crc32(data, entry["crc"])
        entry["size"] += len(data)
        self._packed(self._compressor.compress(data))

    def _packed(self, data: bytes) -> None:
        self.state["open"]["packed"] += len(data)
        self._emit(data)

    def end(self) -> None:
        """Close the open entry: the end of its deflate stream, then its data descriptor."""
        entry = self.state["open"]
        if self._compressor is None:
            self._compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        self._packed(self._compressor.flush(zlib.Z_FINISH))
        self._compressor = None
        wide = entry["size"] > _MAX32 or entry["packed"] > _MAX32
        sizes = struct.pack("<QQ" if wide else "<II", entry["packed"], entry["size"])
        self._emit(struct.pack("<II", _DESCRIPTOR, entry["crc"]) + sizes)
        self.state["entries"].append(entry)
        self.state["open"] = None

    def cut(self) -> bytes:
        """The bytes written since the last cut, the open entry's deflate stream flushed to a byte
        boundary first (a later process can go on from :attr:`state` alone)."""
        if self.state["open"] is not None and self._compressor is not None:
            self._packed(self._compressor.flush(zlib.Z_FULL_FLUSH))
        data = bytes(self._pending)
        self._pending.clear()
        return data

    def finish(self) -> None:
        """Write the central directory (every entry closed)."""
        assert self.state["open"] is None, "an entry is open"
        start = self.state["length"]
        directory = bytearray()
        for entry in self.state["entries"]:
            raw = entry["name"].encode()
            wide = [v for v in (entry["size"], entry["packed"], entry["offset"]) if v >= _MAX32]
            extra = struct.pack("<HH", 1, 8 * len(wide)) + b"".join(struct.pack("<Q", v) for v in wide)
            if not wide:
                extra = b""
            clip = [min(v, _MAX32) for v in (entry["packed"], entry["size"], entry["offset"])]
            directory += struct.pack(
                "<IHHHHHHIIIHHHHHII",
                _CENTRAL,
                (3 << 8) | 45,  # made on Unix (its mode below), ZIP64-aware
                45 if wide else 20,
                _FLAGS,
                _DEFLATED,
                self._time,
                self._date,
                entry["crc"],
                clip[0],
                clip[1],
                len(raw),
                len(extra),
                0,
                0,
                0,
                0o100644 << 16,
                clip[2],
            )
            directory += raw + extra
        count, size = len(self.state["entries"]), len(directory)
        if count >= 0xFFFF or start >= _MAX32 or size >= _MAX32:
            end64 = start + size
            directory += struct.pack("<IQHHIIQQQQ", _END64, 44, 45, 45, 0, 0, count, count, size, start)
            directory += struct.pack("<IIQI", _LOCATOR64, 0, end64, 1)
        directory += struct.pack(
            "<IHHHHIIH",
            _END,
            0,
            0,
            min(count, 0xFFFF),
            min(count, 0xFFFF),
            min(size, _MAX32),
            min(start, _MAX32),
            0,
        )
        self._emit(bytes(directory))
