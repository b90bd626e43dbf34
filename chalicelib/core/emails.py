"""E-mail addresses as the project checks them: with the ``email_validator`` library (RFC 5322
syntax, internationalized domains and local parts, no DNS look-up), in one place."""

from __future__ import annotations

from chalicelib.core.errors import ValidationFailed


def checked_email(text: str, *, field: str) -> str:
    """``text`` as an e-mail address in email_validator's normalized form (its domain in lower
    case); a ``ValidationFailed`` naming ``field`` saying what is wrong otherwise."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return str(validate_email(text, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise ValidationFailed(
            [{"field": field, "message": f"is not a valid e-mail address ({exc})"}]
        ) from exc


def is_email(text: str) -> bool:
    """Whether ``text`` is an e-mail address (:func:`checked_email`)."""
    try:
        checked_email(text, field="address")
    except ValidationFailed:
        return False
    return True
