"""Pregón's own notices to companies' administrators (a sending domain stopped verifying) come from
``PREGON_NOTICE_FROM``, by default ``avisos@`` the ``PREGON_MAIL_DOMAIN``; a wrong one stops the
notice with a message naming the variable."""

from __future__ import annotations

import pytest

from chalicelib.core.settings import get_settings, notice_from


def test_the_notice_sender_is_avisos_at_the_mail_domain_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a deployment that sets only its mail domain
    monkeypatch.delenv("PREGON_NOTICE_FROM", raising=False)
    monkeypatch.setenv("PREGON_MAIL_DOMAIN", "pregon.example.com")
    get_settings.cache_clear()
    try:
        # Then notices come from avisos@ that domain; and from the address set, once set
        assert notice_from() == "avisos@pregon.example.com"
        monkeypatch.setenv("PREGON_NOTICE_FROM", " notices@mail.pregon.example.com ")
        assert notice_from() == "notices@mail.pregon.example.com"
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    "value",
    ["Pregón <avisos@pregon.example.com>", "avisos", "avisos@pregón.example", "a b@pregon.example.com"],
)
def test_a_notice_sender_that_is_not_a_plain_ascii_address_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # Given a notice sender with a display name, no domain, or not ASCII (SES has no SMTPUTF8)
    monkeypatch.setenv("PREGON_NOTICE_FROM", value)
    # When a notice reads it
    with pytest.raises(ValueError, match="PREGON_NOTICE_FROM must be a plain ASCII e-mail address"):
        notice_from()


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("acme@inbound.pregon.example.com", "must not be on PREGON_INBOUND_DOMAIN"),
        ("avisos@sub.inbound.pregon.example.com", "must not be on PREGON_INBOUND_DOMAIN"),
        ("avisos@acme.example", "must be on PREGON_MAIL_DOMAIN"),
        ("avisos@notpregon.example.com", "must be on PREGON_MAIL_DOMAIN"),
    ],
)
def test_a_notice_sender_off_pregons_mail_domain_or_on_its_inbound_domain_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, said: str
) -> None:
    # Given Pregón's mail domain and its inbound domain under it, and a notice sender on the inbound
    # domain (the administrators' replies would reach the inbound mailbox of the company named like
    # its local part) or on a domain that is not Pregón's (a company may register it: the notices
    # would go out with that company's SES identity)
    monkeypatch.setenv("PREGON_MAIL_DOMAIN", "pregon.example.com")
    monkeypatch.setenv("PREGON_INBOUND_DOMAIN", "inbound.pregon.example.com")
    monkeypatch.setenv("PREGON_NOTICE_FROM", value)
    get_settings.cache_clear()
    try:
        # When a notice reads it
        with pytest.raises(ValueError, match=f"PREGON_NOTICE_FROM {said}"):
            notice_from()
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    "value", ["avisos@pregon.example.com", "avisos@mail.pregon.example.com", "avisos@example.com"]
)
def test_a_notice_sender_on_pregons_mail_domain_under_it_or_above_it_is_taken(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # Given a notice sender on Pregón's mail domain, a domain under it or one above it (none of
    # which a company may register)
    monkeypatch.setenv("PREGON_MAIL_DOMAIN", "pregon.example.com")
    monkeypatch.setenv("PREGON_INBOUND_DOMAIN", "inbound.pregon.example.com")
    monkeypatch.setenv("PREGON_NOTICE_FROM", value)
    get_settings.cache_clear()
    try:
        # Then notices come from it
        assert notice_from() == value
    finally:
        get_settings.cache_clear()
