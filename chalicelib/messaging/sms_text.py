"""SMS templates with ``%variable%`` placeholders, and what a text costs in SMS segments.

    render_sms("Estimado %nombre% su saldo pendiente es $ %deuda%", {"nombre": "Ana", "deuda": "1.500"})
    → "Estimado Ana su saldo pendiente es $ 1.500"

* ``%name%``: a name of letters (accented ones too), digits and ``_``, matched case-insensitively
  (``%Nombre%`` and ``%nombre%`` are the same variable). An unknown name is an error, never sent as is.
* ``%%`` is one literal ``%``. A ``%`` that starts no placeholder (``50% off``) stays as written.
* An amount is written with one currency sign: a value that starts with the sign the text writes
  just before the placeholder is put in without its own. The seed's texts write "$ %monto%" and
  "$ %deuda%", while an event's amounts come as its back office formats them (``$ 5.000,00``):
  ``"$ %monto%"`` with ``$ 5.000,00`` is ``$ 5.000,00``, never ``$ $ 5.000,00``; ``"%monto%"`` keeps
  the value's sign. The sign is compared whole and in any case: ``"US$ %monto%"`` keeps a value's
  ``$`` (pesos are not dollars), as ``"$ %monto%"`` keeps a value's ``US$``; ``"u$s %monto%"`` with
  ``U$S 1.500`` (Argentina's dollars) is ``u$s 1.500``.

No Jinja here: SMS templates are plain text written by tenants, and this syntax has no way to run code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Literal

from chalicelib.core.errors import ValidationFailed

_TOKEN = re.compile(r"%%|%(\w+)%")
# A value's leading currency sign (``$``, ``€``, ``US$``, ``R$``, Argentina's ``U$S``) before its
# digits, and the spaces after it; its one symbol must be a currency symbol (checked in _sign).
_SIGN = r"([A-Za-z]{0,3}[^\w\s][A-Za-z]{0,2})"
_LEADING_SIGN = re.compile(_SIGN + r"\s*(?=[-+]?\d)")
# The same sign at the end of the text before a placeholder (with the spaces after it), whole: not
# preceded by a letter or digit.
_SIGN_BEFORE = re.compile(r"(?<![^\W_])" + _SIGN + r"\s*$")

# GSM 03.38 default alphabet (one septet each; ESC 0x1B left out) and its extension table (ESC + one
# septet each, so two). Characters outside both force the whole message into UCS-2.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["GSM-7", "UCS-2"]
# (units in a single message, units per part of a concatenated message): the 6-byte UDH of a
# multipart message takes 7 septets (GSM-7) or 3 UTF-16 code units (UCS-2).
_LIMITS: dict[str, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


def template_variables(template: str) -> list[str]:
    """The variables a template uses, lower-cased, each once, in order of first use."""
    seen: dict[str, None] = {}
    for match in _TOKEN.finditer(template):
        if match.group(1):
            seen.setdefault(match.group(1).casefold(), None)
    return list(seen)


def render_sms(template: str, variables: Mapping[str, object], *, field: str = "template") -> str:
    """The template with each ``%name%`` replaced by ``str(variables[name])`` (``None`` → empty).

    Raises ``ValidationFailed`` naming ``field`` and every unknown variable."""
    values = {str(name).casefold(): value for name, value in variables.items()}
    unknown = [name for name in template_variables(template) if name not in values]
    if unknown:
        names = ", ".join(f"%{name}%" for name in unknown)
        noun = "variable" if len(unknown) == 1 else "variables"
        known = ", ".join(f"%{name}%" for name in sorted(values)) or "none"
        raise ValidationFailed([{"field": field, "message": f"unknown {noun} {names} (known: {known})"}])

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        value = values[name.casefold()]
        if value is None:
            return ""
        shown = str(value)
        sign = _sign(_LEADING_SIGN.match(shown))
        if sign and sign.group(1).casefold() == _written_sign(match.string[: match.start()]):
            return shown[sign.end() :]  # the text's own sign, as written, stays the only one
        return shown

    return _TOKEN.sub(replace, template)


def _sign(found: re.Match[str] | None) -> re.Match[str] | None:
    """``found`` when what it matched is a currency sign (its symbol a currency symbol: ``$``,
    ``U$S``; not ``-`` or ``+``), else None."""
    if found and any(unicodedata.category(ch) == "Sc" for ch in found.group(1)):
        return found
    return None


def _written_sign(before: str) -> str | None:
    """The currency sign the text writes just before a placeholder, whole and in any case (``us$``:
    ``US$``, not the ``$`` it ends with, so a value in ``$`` under "US$ %monto%" keeps its own)."""
    sign = _sign(_SIGN_BEFORE.search(before))
    return sign.group(1).casefold() if sign else None


def sms_encoding(text: str) -> Encoding:
    """GSM-7 when every character is in the GSM 03.38 alphabet or its extension table, else UCS-2."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return "GSM-7"
    return "UCS-2"


def _units(ch: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1  # outside the BMP: a UTF-16 surrogate pair


def sms_segments(text: str) -> int:
    """How many SMS the text is sent as (0 for an empty text).

    One message holds 160 GSM-7 septets or 70 UCS-2 code units; a longer text is split into parts of
    153 or 67. An extension character (ESC + septet) or a surrogate pair (emoji) is never split across
    two parts, so a part may hold one unit less than its capacity, exactly as phones split them.
    """
    if not text:
        return 0
    encoding = sms_encoding(text)
    single, per_part = _LIMITS[encoding]
    units = [_units(ch, encoding) for ch in text]
    if sum(units) <= single:
        return 1
    parts, used = 1, 0
    for size in units:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts
