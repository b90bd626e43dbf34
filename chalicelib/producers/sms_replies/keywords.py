"""Keyword matching for inbound SMS: case- and accent-insensitive, whole words.

    words("¿Sáldo?")                      -> ["saldo"]
    parse_keywords("deuda, Saldo ,cuenta") -> ["deuda", "saldo", "cuenta"]
    mentions("Quiero mi SALDO!", ["saldo"]) -> True    ("saldos" would not match "saldo")
    compliance_action("  Baja. ")          -> "stop"

A company keyword may be a phrase ("sin servicio"); it matches when its words appear together.
STOP / START / HELP and their synonyms act only when they are the whole message (after the same
normalization), as carriers do, so "ayuda con mi factura" is left to the company's rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from chalicelib.core.names import fold

_WORD = re.compile(r"\w+")
MAX_KEYWORD_LENGTH = 30

STOP_WORDS = frozenset(
    {
        "stop",
        "stopall",
        "baja",
        "unsubscribe",
        "cancel",
        "cancelar",
        "end",
        "quit",
        "optout",
        "remove",
        "arret",
        "salir",
        "desuscribir",
    }
)
STOP_PHRASES = frozenset({("opt", "out"), ("dar", "de", "baja")})
START_WORDS = frozenset({"start", "unstop", "alta", "subscribe", "suscribir"})
HELP_WORDS = frozenset({"help", "ayuda", "info"})


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def parse_keywords(text: str) -> list[str]:
    """Comma-separated keywords, folded, blanks and repeats dropped, in the order given."""
    seen: dict[str, None] = {}
    for part in (text or "").split(","):
        phrase = " ".join(words(part))
        if phrase:
            seen.setdefault(phrase, None)
    return list(seen)


def keyword_errors(text: str, field: str) -> list[dict[str, str]]:
    """Why a keyword list cannot be used (an empty list means it can)."""
    errors = []
    for part in (text or "").split(","):
        raw = part.strip()
        if raw and not words(raw):
            errors.append({"field": field, "message": f"{raw!r} has no letters or digits"})
        elif len(raw) > MAX_KEYWORD_LENGTH:
            errors.append(
                {"field": field, "message": f"{raw!r} is longer than {MAX_KEYWORD_LENGTH} characters"}
            )
    return errors


def mentions(message: str, keywords: Iterable[str]) -> bool:
    """Whether any keyword (already parsed) appears as whole words in the message."""
    tokens = words(message)
    return any(_contains(tokens, keyword.split()) for keyword in keywords)


def _contains(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return n > 0 and any(list(tokens[i : i + n]) == list(phrase) for i in range(len(tokens) - n + 1))


def compliance_action(message: str) -> str | None:
    """``stop``, ``start`` or ``help`` when the whole message is one of those keywords, else None."""
    tokens = tuple(words(message))
    if len(tokens) == 1:
        word = tokens[0]
        if word in STOP_WORDS:
            return "stop"
        if word in START_WORDS:
            return "start"
        if word in HELP_WORDS:
            return "help"
    if tokens in STOP_PHRASES:
        return "stop"
    return None
