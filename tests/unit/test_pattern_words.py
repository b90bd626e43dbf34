"""A field the API checks against a regular expression is refused in words, never with the regex.

pydantic says "String should match pattern '^[A-Za-z]{2}$'"; the console showed its Spanish, "no
tiene el formato esperado (^[A-Za-z]{2}$)". Every pattern of the published API document has its
words in ``chalicelib/api/http.py`` (``PATTERN_WORDS``) and their Spanish in the error catalog.
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, StringConstraints, ValidationError

from chalicelib.api.error_language import SPANISH, error_body
from chalicelib.api.http import PATTERN_UNKNOWN, PATTERN_WORDS, pydantic_errors
from chalicelib.api.openapi import build_openapi
from chalicelib.core.errors import ValidationFailed

# A value no pattern of ours takes: a space, a line break, no slash, a letter, a tilde.
BROKEN = "a b\n~"
# What a regular expression shows that words never do.
REGEX_MARKS = ("^", "$", "[", "]", "\\", "{", "}", "should match")


def _patterns(document: dict[str, Any]) -> dict[str, str]:
    """Every pattern of the document (a text's ``pattern``, a map's key ``patternProperties``) and
    one place it is used."""
    found: dict[str, str] = {}
    pending: list[tuple[Any, str]] = [(document, "")]
    while pending:
        node, where = pending.pop()
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.setdefault(node["pattern"], where)
            for key in node.get("patternProperties") or {}:
                found.setdefault(key, f"{where} (a key)")
            pending.extend((value, f"{where}/{key}") for key, value in node.items())
        elif isinstance(node, list):
            pending.extend((value, where) for value in node)
    return found


PATTERNS = _patterns(build_openapi())


def _refusal(pattern: str) -> dict[str, Any]:
    class Form(BaseModel):
        value: Annotated[str, StringConstraints(pattern=pattern)]

    with pytest.raises(ValidationError) as refused:
        Form.model_validate({"value": BROKEN})
    return ValidationFailed(pydantic_errors(refused.value)).body()


def test_the_document_has_the_patterns_the_walk_found() -> None:
    assert len(PATTERNS) >= 10, PATTERNS
    assert r"^[A-Za-z]{2}$" in PATTERNS


@pytest.mark.parametrize("pattern", sorted(PATTERNS), ids=lambda pattern: PATTERNS[pattern])
def test_a_pattern_field_is_refused_in_words_in_english_and_spanish(pattern: str) -> None:
    # Given a field of the API checked against the pattern, When a value that breaks it is sent
    english = _refusal(pattern)
    spanish = error_body(english, SPANISH)

    # Then neither the English nor the Spanish answer shows a regular expression
    for answer in (english, spanish):
        for text in (answer["message"], *(item["message"] for item in answer["errors"])):
            assert pattern not in text, text
            assert not any(mark in text for mark in REGEX_MARKS), text
    # And the field has words of its own with an example, translated
    message = english["errors"][0]["message"]
    assert message == PATTERN_WORDS.get(pattern), f"{pattern} has no words in http.PATTERN_WORDS"
    assert "(for example " in message or pattern == r"^[^\x00-\x1f\x7f]+$", message
    assert spanish["errors"][0]["message"] != message, f"no Spanish in error_language.CATALOG for {message!r}"


def test_a_pattern_without_words_still_shows_no_regex() -> None:
    english = _refusal(r"^[a-z]+$")
    assert english["errors"][0]["message"] == PATTERN_UNKNOWN
    spanish = error_body(english, SPANISH)["message"]
    assert spanish == "value: no está escrito en la forma que este campo admite"
