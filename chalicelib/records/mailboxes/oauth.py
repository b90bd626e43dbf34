"""What the OAuth2 mailboxes (Microsoft 365, ``microsoft.py``; Google Workspace, ``google.py``)
share: the provider's IMAP server and token endpoint come from the deployment's settings (never
a tenant's), checked on each use; a token is POSTed for as a form and read from the JSON answer;
a refusal is the provider's own ``error: error_description`` (it never repeats the credential).
"""

from __future__ import annotations

import http.client
import json
import urllib.parse

from chalicelib.channels.deadlines import Deadline, SendTimedOut
from chalicelib.channels.destinations import DestinationRefused, http_exchange
from chalicelib.core.settings import loopback_host, url_setting_problem
from chalicelib.records.mailboxes.imap import ImapFailed, Server

_MAX_TEXT = 300
_MAX_ANSWER_BYTES = 64 * 1024  # a token answer is a few kB


def imap_server(url: str, setting: str) -> Server:
    """The IMAP server of a setting's ``imaps://host:port`` (plain ``imap://`` only to this
    machine, for a local test: the bearer tokens go there)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("imaps", "imap") or not parsed.hostname:
        raise ImapFailed(f"{setting} must be imaps://host:port (or imap:// for a local test)")
    if parsed.scheme == "imap" and not loopback_host(parsed.hostname):
        raise ImapFailed(f"{setting} must be imaps://host:port: imap:// is allowed only for localhost")
    secure = parsed.scheme == "imaps"
    return Server(parsed.hostname, parsed.port or (993 if secure else 143), "tls" if secure else "none")


def checked_url(url: str, setting: str) -> str:
    """A setting's token URL, when it is ``https://`` (``http://`` only to this machine, for a
    local test: ``core.settings.url_setting_problem``); the client secrets and assertions go there."""
    problem = url_setting_problem(setting, url)
    if problem:
        raise ImapFailed(problem)
    return url


def request_token(url: str, form: dict[str, str], service: str, deadline: Deadline) -> str:
    """POST ``form`` to the token endpoint ``url`` (a checked deployment setting), all of it (the
    lookup, connecting, the request and every byte of the answer) within ``deadline``, the
    mailbox's login's (``channels.destinations.http_exchange``); the access token, or
    ``ImapFailed`` naming ``service`` and its answer (``<service> refused: invalid_client: ...``,
    ``<service> did not answer within 20 s``, ``<service> did not answer: ...``)."""
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    target = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    try:
        with http_exchange(parsed.scheme, host, port, deadline) as connection:
            connection.request("POST", target, urllib.parse.urlencode(form).encode(), headers)
            response = connection.getresponse()
            raw, status = response.read(_MAX_ANSWER_BYTES + 1), response.status
    except DestinationRefused as exc:
        raise ImapFailed(f"{service} did not answer: {exc.reason}"[:_MAX_TEXT]) from None
    except (http.client.HTTPException, OSError) as exc:
        if isinstance(exc, SendTimedOut) or deadline.passed():
            raise ImapFailed(f"{service} did not answer within {deadline.seconds:g} s") from None
        raise ImapFailed(f"{service} did not answer: {exc}"[:_MAX_TEXT]) from None
    if len(raw) > _MAX_ANSWER_BYTES:
        raise ImapFailed(f"{service} answered with more than {_MAX_ANSWER_BYTES // 1024} kB")
    answer = _json(raw)
    if not 200 <= status < 300:  # no redirect is followed: the form holds a secret
        raise ImapFailed(f"{service} refused: {_refusal(status, answer)}")
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise ImapFailed(f"{service} answered without an access_token")
    return token


def _json(raw: bytes) -> dict[str, object]:
    try:
        data = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _refusal(status: int, answer: dict[str, object]) -> str:
    """``<error>: <error_description's first line>`` of the sign-in service's answer (its own
    words; it never repeats the secret)."""
    code = str(answer.get("error") or f"HTTP {status}")
    description = str(answer.get("error_description") or "").strip().splitlines()
    text = f"{code}: {description[0]}" if description else code
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"
