"""The deployment's URL settings: links in e-mails, the token issuer's keys and the OAuth2 token
endpoints are https://, or http:// to this machine only (Q7: secrets cannot be sent elsewhere)."""

from __future__ import annotations

import pytest

from chalicelib.core.settings import get_settings, url_setting_problem
from chalicelib.records.mailboxes.imap import ImapFailed
from chalicelib.records.mailboxes.oauth import checked_url, imap_server


@pytest.mark.parametrize(
    "url",
    [
        "https://pregon.example.com",
        "https://pregon.example.com:8443/base",
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:9000",
    ],
)
def test_https_anywhere_and_http_to_this_machine_are_accepted(url: str) -> None:
    # Given a URL setting that is https://, or http:// to this machine
    # When it is checked
    # Then nothing is wrong with it
    assert url_setting_problem("PREGON_PUBLIC_BASE_URL", url) is None


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://pregon.example.com", "http:// is allowed only for localhost"),
        ("http://10.0.0.5", "http:// is allowed only for localhost"),
        ("ftp://pregon.example.com", "must be an https:// URL"),
        ("pregon.example.com", "must be an https:// URL"),
        ("https://", "must be an https:// URL"),
        ("https://user:pw@pregon.example.com", "without a user, password, query or fragment"),
        ("https://pregon.example.com/?next=x", "without a user, password, query or fragment"),
        ("https://pregon.example.com:port", "is not a URL"),
    ],
)
def test_plain_http_elsewhere_and_odd_urls_are_refused_naming_the_setting(url: str, said: str) -> None:
    # Given a URL setting that would carry tokens over plain HTTP, or is not a plain URL
    problem = url_setting_problem("PREGON_PUBLIC_BASE_URL", url)
    # Then the problem names the setting and says what is wrong
    assert problem is not None
    assert "PREGON_PUBLIC_BASE_URL" in problem and said in problem


def test_a_function_with_a_plain_http_public_url_stops_instead_of_mailing_tokens_over_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a deployment whose public base URL (in every unsubscribe and confirmation link) is http://
    monkeypatch.setenv("PREGON_PUBLIC_BASE_URL", "http://pregon.example.com")
    get_settings.cache_clear()
    try:
        # When a function reads its settings
        with pytest.raises(ValueError, match="PREGON_PUBLIC_BASE_URL must be an https:// URL"):
            get_settings()
        # And an https:// one is read as it is, without its last slash
        monkeypatch.setenv("PREGON_PUBLIC_BASE_URL", "https://pregon.example.com/")
        get_settings.cache_clear()
        assert get_settings().public_base_url == "https://pregon.example.com"
        # And a Cognito domain may be given as a bare host (https:// is meant)
        monkeypatch.setenv("PREGON_COGNITO_DOMAIN", "pregon-prod.auth.us-east-1.amazoncognito.com")
        get_settings.cache_clear()
        assert get_settings().cognito_domain == "pregon-prod.auth.us-east-1.amazoncognito.com"
    finally:
        get_settings.cache_clear()


def test_oauth2_token_endpoints_and_imap_servers_in_plain_text_only_on_this_machine() -> None:
    # Given the deployment's Microsoft 365 / Google settings, where client secrets and bearer tokens go
    # Then an https:// endpoint, and an http:// one on this machine (the tests' stand-in), are used
    assert checked_url("https://login.microsoftonline.com", "PREGON_MICROSOFT_LOGIN_URL")
    assert checked_url("http://127.0.0.1:4000/token", "PREGON_GOOGLE_TOKEN_URL")
    # But a plain http:// endpoint elsewhere is refused, naming the setting
    with pytest.raises(ImapFailed, match="PREGON_GOOGLE_TOKEN_URL must be an https:// URL"):
        checked_url("http://oauth.example.com/token", "PREGON_GOOGLE_TOKEN_URL")
    # And plain IMAP only to this machine
    assert imap_server("imap://127.0.0.1:1143", "PREGON_MICROSOFT_IMAP_URL").encryption == "none"
    with pytest.raises(ImapFailed, match="imap:// is allowed only for localhost"):
        imap_server("imap://outlook.office365.com:143", "PREGON_MICROSOFT_IMAP_URL")
