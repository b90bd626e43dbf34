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


# Providers that ignore dots in the local part, and the domain each is known by.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox_key(address: str) -> str:
    """The mailbox an address reaches, as a limit on what is sent to it must count it: lower case,
    without a ``+tag`` (subaddressing, RFC 5233: ``ana+1@x`` and ``ana+2@x`` both reach ``ana@x``),
    and, for Gmail, without dots and with ``googlemail.com`` as ``gmail.com``. Never an address to
    send to: ``ana+1@x`` and ``ana@x`` may still be told apart everywhere else."""
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS_DOMAINS:
        domain = _DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"
