"""Names that end up in mail headers and file names: what makes them safe to show.

A name can be made to read as something it is not: bidi overrides turn ``Banco\u202egnp.exe`` into
"Bancoexe.png", zero-width characters hide inside look-alike names, and a file name can be a path
(``../../../etc/passwd.pdf``). Names are refused with these characters when saved, and cleaned
again where they are used (composition, attachments, downloads).
"""

from __future__ import annotations

import re
import unicodedata

# Characters that make a name read differently from what it is: control characters, the bidi
# embeddings, overrides and isolates (U+202A-202E, U+2066-2069), the direction marks (U+200E/F)
# and zero-width ones (U+200B-200D, U+FEFF). "Banco\u202egnp.exe" shows as "Bancoexe.png".
INVISIBLE = re.compile("[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
INVISIBLE_MESSAGE = "must not contain control, bidirectional or zero-width characters"


def fold(text: str) -> str:
    """Lower-case without accents: NFKD, combining marks dropped, then casefold. Compares and sorts
    names as a Spanish reader does ("Álvaro" before "Beatriz", not after "Zoe")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def strip_invisible(value: str) -> str:
    return INVISIBLE.sub("", value)


def attachment_name(name: str) -> str:
    """The name a file is attached or downloaded under: its base name only (no ``../`` nor
    folders), without invisible characters or leading dots, at most 120 characters."""
    base = re.split(r"[/\\]", strip_invisible(unicodedata.normalize("NFC", name)))[-1]
    base = base.strip().lstrip(".").strip() or "file"
    if len(base) > 120:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 119 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else base[:120]
    return base


# What an old mail program may show of a name that is not ASCII (RFC 2183's quoted ``filename``
# beside RFC 2231's ``filename*``): letters without their accents, a few look-alikes spelled out,
# and only characters every file system and MIME parser takes as they are.
_SPELLED = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
        "€": "EUR",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
    }
)
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9 ._()+,&'!#$@~\[\]-]")
_RUNS = re.compile(r"_+|\s+")


def ascii_file_name(name: str, limit: int) -> str:
    """An ASCII spelling of an attachment's name, at most ``limit`` characters, its extension
    kept: accents dropped (Unicode NFKD), dashes and ``º`` spelled as ``-`` and ``o``, and any
    other character a quoted MIME parameter, Windows or an old parser may take badly (``"``,
    ``\\``, ``/``, ``:``, ``;``, ``%``, ``«``...) as ``_``. ``Factura nº 12 – octubre.pdf`` is
    ``Factura no 12 - octubre.pdf``."""
    decomposed = unicodedata.normalize("NFKD", attachment_name(name).translate(_SPELLED))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = _RUNS.sub(lambda run: "_" if run.group()[0] == "_" else " ", _NOT_PLAIN.sub("_", plain))
    plain = plain.strip(" ").lstrip(".") or "file"
    if len(plain) > limit:
        stem, dot, ext = plain.rpartition(".")
        keep = limit - len(ext) - 1
        plain = (stem[:keep].rstrip(" ") + dot + ext) if dot and 0 < len(ext) <= 10 else plain[:limit]
    return plain
