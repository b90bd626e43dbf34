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
