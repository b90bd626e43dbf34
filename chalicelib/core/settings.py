"""Settings read from the environment, lazily and once per process.

Chalice's test client sets a stage's environment variables only while it handles a call,
and Lambda pays at cold start for everything done at import time, so nothing here runs on
import: call :func:`get_settings` where a value is needed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    stage: str
    table_prefix: str
    kms_key_id: str
    link_signing_key: str = field(repr=False)  # never in a log line that prints the settings
    public_base_url: str
    jwt_issuer: str
    jwt_audience: str
    jwks_url: str
    jwks_json: str
    mail_domain: str
    sweep_workers: int
    outbox_queue: str
    files_bucket: str
    drain_seconds: int
    ses_configuration_set: str
    inbound_domain: str = "inbound.pregon.local"
    inbound_bucket: str = "pregon-inbound"
    outbox_lease_seconds: int = 300
    # SMS a company may send a day through Pregón's SNS, unless the operator set its own allowance
    sms_allowance_per_day: int = 500
    # E-mails a company may send a day through Pregón's SES (its "ses" sender accounts), unless the
    # operator set its own allowance; its own SMTP accounts are its provider's to limit (C2)
    email_allowance_per_day: int = 5000
    # A company's e-mails through Pregón's SES pause (decision 0032) when, over the last 24 hours,
    # it sent at least this many there and its hard bounces or complaints reach these rates (SES
    # reviews a whole account at 5 % and 0.1 %)
    reputation_min_sent: int = 200
    reputation_bounce_rate: float = 0.05
    reputation_complaint_rate: float = 0.001
    # Confirmation e-mails (double opt-in) a company's public tracking site may send a day, whoever
    # asks (decision 0013): many IPv4 addresses pass the per-client limits, not this one
    public_confirmations_per_day: int = 1000
    # Received mail recorded a company day (decision 0037): per stranger's address, per known
    # client's address, and from strangers in all; past them a message is held (kept raw, counted)
    inbound_per_sender_per_day: int = 50
    inbound_per_client_address_per_day: int = 500
    inbound_strangers_per_company_per_day: int = 2000
    # O1/O2: the SHA-256 (hex) of the operator token; empty: no operator may call /operator/...
    operator_token_sha256: str = ""
    # W2: who signs staff into the console: a local identity server (the stack's), or Cognito's
    # hosted UI (its domain and app client id); the console reads them from GET /console/config.
    console_identity_url: str = ""
    cognito_domain: str = ""
    cognito_client_id: str = ""
    # Keys that signed links before the current one (rotation): tokens they signed are still
    # accepted, nothing new is signed with them (core.links.link_verifying_keys).
    link_signing_keys_previous: tuple[str, ...] = field(default=(), repr=False)


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address: this machine."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_setting_problem(name: str, url: str) -> str | None:
    """What is wrong with a deployment setting that holds a URL Pregón sends people or secrets to
    (links in e-mails, the token issuer's keys, OAuth2 token endpoints), or None. It must be
    ``https://host[:port][/path]``: over plain HTTP an unsubscribe or confirmation token, a
    signing key or a client secret could be read or changed on the way. ``http://`` is allowed
    only to this machine (``localhost``, ``127.0.0.0/8``, ``::1``), where the local stack and the
    tests run their servers. No user name, password, query or fragment."""
    try:
        parsed = urllib.parse.urlsplit(url)
        parsed.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        return f"{name} is not a URL: {url!r}"
    host = (parsed.hostname or "").lower()
    if parsed.scheme not in ("https", "http") or not host:
        return f"{name} must be an https:// URL, e.g. https://pregon.example.com (it is {url!r})"
    if parsed.scheme == "http" and not loopback_host(host):
        return f"{name} must be an https:// URL: http:// is allowed only for localhost (it is {url!r})"
    if parsed.username is not None or parsed.password is not None or parsed.query or parsed.fragment:
        return f"{name} must be a plain https:// URL, without a user, password, query or fragment"
    return None


def _url(name: str, default: str = "", *, bare_host: bool = False) -> str:
    """A URL setting, checked (``url_setting_problem``) when it is set: a wrong one stops the
    function at its first use of the settings, with a message naming the variable, instead of
    sending tokens over plain HTTP. ``bare_host``: a host name alone means ``https://`` it."""
    value = _env(name, default).strip().rstrip("/")
    checked = value if not bare_host or "://" in value else f"https://{value}"
    problem = url_setting_problem(name, checked) if value else None
    if problem:
        raise ValueError(problem)
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        stage=_env("PREGON_STAGE", "local"),
        table_prefix=_env("PREGON_TABLE_PREFIX", "pregon-"),
        kms_key_id=_env("PREGON_KMS_KEY_ID", "alias/pregon-secrets"),
        link_signing_key=_env("PREGON_LINK_SIGNING_KEY"),
        public_base_url=_url("PREGON_PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        jwt_issuer=_env("PREGON_JWT_ISSUER", "pregon-local"),
        jwt_audience=_env("PREGON_JWT_AUDIENCE", "pregon"),
        jwks_url=_url("PREGON_JWKS_URL"),
        jwks_json=_env("PREGON_JWKS"),
        mail_domain=_env("PREGON_MAIL_DOMAIN", "pregon.local"),
        sweep_workers=int(_env("PREGON_SWEEP_WORKERS", "8")),
        outbox_queue=_env("PREGON_OUTBOX_QUEUE", "pregon-outbox"),
        files_bucket=_env("PREGON_FILES_BUCKET", "pregon-files"),
        drain_seconds=int(_env("PREGON_DRAIN_SECONDS", "180")),
        ses_configuration_set=_env("PREGON_SES_CONFIGURATION_SET", "pregon-events"),
        # I3: mail to <company_id>@<inbound_domain> is received by SES, kept raw in inbound_bucket.
        inbound_domain=_env("PREGON_INBOUND_DOMAIN", "inbound.pregon.local").lower(),
        inbound_bucket=_env("PREGON_INBOUND_BUCKET", "pregon-inbound"),
        # How long a worker holds what it claimed: after that, a dead worker's messages are ready.
        outbox_lease_seconds=int(_env("PREGON_OUTBOX_LEASE_SECONDS", "300")),
        sms_allowance_per_day=int(_env("PREGON_SMS_ALLOWANCE_PER_DAY", "500")),
        email_allowance_per_day=int(_env("PREGON_EMAIL_ALLOWANCE_PER_DAY", "5000")),
        reputation_min_sent=int(_env("PREGON_REPUTATION_MIN_SENT", "200")),
        reputation_bounce_rate=float(_env("PREGON_REPUTATION_BOUNCE_RATE", "0.05")),
        reputation_complaint_rate=float(_env("PREGON_REPUTATION_COMPLAINT_RATE", "0.001")),
        public_confirmations_per_day=int(_env("PREGON_PUBLIC_CONFIRMATIONS_PER_DAY", "1000")),
        inbound_per_sender_per_day=int(_env("PREGON_INBOUND_PER_SENDER_PER_DAY", "50")),
        inbound_per_client_address_per_day=int(_env("PREGON_INBOUND_PER_CLIENT_ADDRESS_PER_DAY", "500")),
        inbound_strangers_per_company_per_day=int(
            _env("PREGON_INBOUND_STRANGERS_PER_COMPANY_PER_DAY", "2000")
        ),
        operator_token_sha256=_env("PREGON_OPERATOR_TOKEN_SHA256").strip().lower(),
        console_identity_url=_url("PREGON_CONSOLE_IDENTITY_URL"),
        cognito_domain=_url("PREGON_COGNITO_DOMAIN", bare_host=True),
        cognito_client_id=_env("PREGON_COGNITO_CLIENT_ID").strip(),
        link_signing_keys_previous=tuple(
            key.strip() for key in _env("PREGON_LINK_SIGNING_KEYS_PREVIOUS").split(",") if key.strip()
        ),
    )


def allow_loopback_destinations() -> bool:
    """``PREGON_ALLOW_LOOPBACK_DESTINATIONS=1``: SMTP hosts and SMS gateways may be on 127.0.0.1 /
    ::1 (the local stack and the tests run theirs there). Never set on AWS; private, link-local and
    other non-public addresses stay refused either way (``channels/destinations.py``). Read on every
    call, not cached, so a test can switch it."""
    return _env("PREGON_ALLOW_LOOPBACK_DESTINATIONS").strip().lower() in ("1", "true", "yes")


def microsoft_login_url() -> str:
    """Where Microsoft 365 mailboxes' OAuth2 tokens are asked for (H3): Microsoft Entra ID's sign-in
    service, ``PREGON_MICROSOFT_LOGIN_URL`` (default ``https://login.microsoftonline.com``); a
    token is ``POST {this}/{tenant}/oauth2/v2.0/token``. A deployment setting, never a tenant's:
    the client secrets go there. The tests point it at a local stand-in, as boto3's
    ``AWS_ENDPOINT_URL_*`` point at moto. Read on every call."""
    return _env("PREGON_MICROSOFT_LOGIN_URL").strip().rstrip("/") or "https://login.microsoftonline.com"


def microsoft_imap_url() -> str:
    """Exchange Online's IMAP server, where Microsoft 365 mailboxes are read with their bearer
    tokens (H3): ``PREGON_MICROSOFT_IMAP_URL``, default ``imaps://outlook.office365.com:993``
    (``imap://host:port`` is plain IMAP, for a local test server only). A deployment setting,
    never a tenant's: the tokens go there. Read on every call."""
    return _env("PREGON_MICROSOFT_IMAP_URL").strip() or "imaps://outlook.office365.com:993"


def google_token_url() -> str:
    """Where Google Workspace mailboxes' OAuth2 tokens are asked for (H3): Google's token endpoint,
    ``PREGON_GOOGLE_TOKEN_URL`` (default ``https://oauth2.googleapis.com/token``), the ``aud`` of
    the signed assertion and where it is POSTed. A deployment setting, never a tenant's (the key
    file's own ``token_uri`` is ignored): the assertions go there. The tests point it at a local
    stand-in. Read on every call."""
    return _env("PREGON_GOOGLE_TOKEN_URL").strip() or "https://oauth2.googleapis.com/token"


def google_imap_url() -> str:
    """Gmail's IMAP server, where Google Workspace mailboxes are read with their bearer tokens
    (H3): ``PREGON_GOOGLE_IMAP_URL``, default ``imaps://imap.gmail.com:993`` (``imap://host:port``
    is plain IMAP, for a local test server only). A deployment setting, never a tenant's: the
    tokens go there. Read on every call."""
    return _env("PREGON_GOOGLE_IMAP_URL").strip() or "imaps://imap.gmail.com:993"


def reset_settings() -> None:
    """Forget the cached settings (tests that change the environment call this)."""
    get_settings.cache_clear()


# A plain ASCII address (SES sends no SMTPUTF8) on a domain name: ``avisos@pregon.example.com``.
_NOTICE_SENDER = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def notice_sender_problem(name: str, address: str, *, mail_domain: str, inbound_domain: str) -> str | None:
    """What is wrong with the address Pregón's own notices come from, or None: a plain ASCII
    address on a domain name (SES sends no SMTPUTF8), without a display name, on Pregón's own
    domain: ``mail_domain``, one under it or one above it (no company may register those, so the
    identity is never a company's), and not ``inbound_domain`` nor under it (the administrators'
    replies would reach the inbound mailbox of the company named like its local part)."""
    if len(address) > 254 or not _NOTICE_SENDER.fullmatch(address):
        return f"{name} must be a plain ASCII e-mail address, e.g. avisos@pregon.example.com: {address!r}"
    domain, mail, inbound = address.rpartition("@")[2].lower(), mail_domain.lower(), inbound_domain.lower()
    if domain == inbound or domain.endswith("." + inbound):
        return f"{name} must not be on PREGON_INBOUND_DOMAIN ({inbound}): {address!r}"
    if not (domain == mail or domain.endswith("." + mail) or mail.endswith("." + domain)):
        return f"{name} must be on PREGON_MAIL_DOMAIN ({mail}), a domain under it or above it: {address!r}"
    return None


def notice_from() -> str:
    """Who Pregón's own notices to companies' administrators come from (a sending domain stopped
    verifying): ``PREGON_NOTICE_FROM``, an address on a domain SES verifies in Pregón's own account,
    never a company's (its sending domain may be the broken one) nor the inbound domain; by default
    ``avisos@`` the ``PREGON_MAIL_DOMAIN``. Checked on every read (``notice_sender_problem``): a
    wrong one stops the notice with a message naming the variable, and
    ``infrastructure/aws/synth.py`` refuses a stage that sets a wrong one. Read on every call, like
    the other settings only one function uses."""
    value = _env("PREGON_NOTICE_FROM").strip() or f"avisos@{get_settings().mail_domain}"
    problem = notice_sender_problem(
        "PREGON_NOTICE_FROM",
        value,  # the domains as the environment has them now, as the address is read
        mail_domain=_env("PREGON_MAIL_DOMAIN", "pregon.local"),
        inbound_domain=_env("PREGON_INBOUND_DOMAIN", "inbound.pregon.local"),
    )
    if problem:
        raise ValueError(problem)
    return value
