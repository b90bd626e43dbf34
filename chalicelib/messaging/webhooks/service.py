"""Webhooks: a company's own system told what happened to its messages (docs/webhooks.md).

    endpoint, secret = create_endpoint(company_id, "ana", url, ("message.bounced",))  # secret: once
    announce(company_id, "message.bounced", client_id="C1", message_id=..., channel="email")
    deliver(json.loads(sqs_body))                     # the queue's worker: one attempt, then retry

* **Subscribing**: an administrator names up to :data:`MAX_ENDPOINTS` HTTPS URLs, each with the
  event types it wants. A URL is a destination Pregón connects to, so it passes the house's rules
  (``channels/destinations.py``, decision 0004): public addresses only, checked when saved and at
  every connection, no redirects followed, no answer body kept or shown.
* **The secret** (``whsec_...``) is made here and answered once (on creation and on rotation);
  stored only as KMS ciphertext bound to the company and the endpoint.
* **Events** are announced from where Pregón records what happened (SES feedback, an unsubscribe,
  an inbound message matched to a client, a ticket opened by SMS): one SQS message per subscribed
  endpoint, never an HTTP call in that path. The payload carries ids only, never a message body.
* **Delivery**: a POST signed ``Pregon-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
  "<t>.<body>">`` (and a second ``v1=``, by the secret a rotation replaced, for
  :data:`ROTATION_OVERLAP` after it), within :data:`TIMEOUT_SECONDS`; a 5xx, 408, 429, timeout
  or connection failure is tried again after each of :data:`RETRY_SECONDS` (about a day in all),
  any other answer is final. An endpoint failing for :data:`DISABLE_AFTER` is turned off and the company's
  administrators told by e-mail once. Each endpoint takes at most :data:`EVENTS_PER_MINUTE`
  deliveries a minute; the rest wait for the next minute.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import secrets
import ssl
import threading
import urllib.parse
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Any

from cachetools import TTLCache

from chalicelib.core import clock
from chalicelib.core.domain import Communication, WebhookDelivery, WebhookEndpoint
from chalicelib.core.errors import Conflict, NotFound, TooManyRequests, ValidationFailed, edited_meanwhile
from chalicelib.core.observability import logger
from chalicelib.core.secrets import decrypt_secret, encrypt_secret
from chalicelib.messaging.webhooks import WEBHOOKS_QUEUE
from chalicelib.store import webhooks as store
from chalicelib.store.rate_limits import Limit

#: The events an endpoint may ask for (``webhook.test`` is sent only by the test route).
EVENT_TYPES = (
    "message.delivered",
    "message.bounced",
    "message.complained",
    "message.failed",
    "client.unsubscribed",
    "inbound.received",
    "ticket.created",
)
TEST_EVENT = "webhook.test"

MAX_ENDPOINTS = 5
MAX_URL_LENGTH = 2000
#: Deliveries (first attempts and retries) one endpoint takes in a minute; the rest wait.
EVENTS_PER_MINUTE = 120
#: A test event per endpoint at most this often (each is a POST to a third party's address).
TESTS_PER_MINUTE = 5
#: And per company, whichever endpoints they go to: an endpoint deleted and added again is a new
#: endpoint, so the bound per endpoint alone would not bound what an administrator can make
#: Pregón post to one address in a minute.
COMPANY_TESTS_PER_MINUTE = TESTS_PER_MINUTE * MAX_ENDPOINTS
#: From connecting to the answer's last byte.
TIMEOUT_SECONDS = 10.0
#: The waits before each retry: about a day in all (21 h), then the event is given up.
RETRY_SECONDS: tuple[int, ...] = (60, 300, 1800, 3600, 3 * 3600, 6 * 3600, 10 * 3600)
#: After a rotation, the secret it replaced signs each delivery too for this long (a second
#: ``v1=`` in ``Pregon-Signature``), so the receiver has a day to take the new one.
ROTATION_OVERLAP = timedelta(hours=24)
#: An endpoint failing (no 2xx) for this long is turned off.
DISABLE_AFTER = timedelta(days=1)
#: SQS delays a message at most 15 minutes; a longer wait takes several hops.
MAX_QUEUE_DELAY = 900
#: The answer's body is read up to this and never kept or shown.
_MAX_BODY_BYTES = 4096
SIGNATURE_HEADER = "Pregon-Signature"

_SECRET_PURPOSE = "webhook-secret"  # noqa: S105  # nosec B105 # the KMS context's purpose, no secret


# --- subscribing ------------------------------------------------------------------------------


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint, or None. HTTPS only (plain HTTP to loopback only where
    ``PREGON_ALLOW_LOOPBACK_DESTINATIONS`` allows loopback: the local stack); no user or password
    in it, no fragment; a host on a public address (a name with no DNS yet is accepted and checked
    at every connection)."""
    from chalicelib.channels.destinations import host_problem
    from chalicelib.core.links import SPACE_OR_CONTROL, has_space_or_control
    from chalicelib.core.settings import allow_loopback_destinations

    if len(url) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    if has_space_or_control(url):
        return SPACE_OR_CONTROL
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a URL"
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        return "must be an https:// URL"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user or password (the signature proves who is calling)"
    if parts.fragment:
        return "must not have a #fragment"
    if port == 0:
        return "must name a port from 1 to 65535, or none"
    problem = host_problem(host, port or (443 if parts.scheme == "https" else 80))
    if problem is not None:
        return problem
    if parts.scheme == "http":
        loopback = host in ("localhost", "127.0.0.1", "::1")
        if not (loopback and allow_loopback_destinations()):
            return "must be an https:// URL"
    return None


def _checked_events(events: list[str]) -> tuple[str, ...]:
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown or not events:
        raise ValidationFailed(
            [{"field": "events", "message": f"must be one or more of {', '.join(EVENT_TYPES)}"}]
        )
    return tuple(dict.fromkeys(events))


def _checked_url(url: str) -> str:
    problem = url_problem(url)
    if problem:
        raise ValidationFailed([{"field": "url", "message": problem}])
    return url


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _encrypt(company_id: str, endpoint_id: str, secret: str) -> bytes:
    return encrypt_secret(secret, company_id=company_id, purpose=_SECRET_PURPOSE, destination=endpoint_id)


def _signing_secrets(company_id: str, endpoint_id: str) -> list[str]:
    """The secrets that sign the endpoint's deliveries now: its secret, then the one the last
    rotation replaced while :data:`ROTATION_OVERLAP` lasts. None at all when there is no endpoint."""
    return [
        decrypt_secret(ciphertext, company_id=company_id, purpose=_SECRET_PURPOSE, destination=endpoint_id)
        for ciphertext in store.secret_ciphertexts(company_id, endpoint_id, clock.now())
    ]


def list_endpoints(company_id: str) -> list[WebhookEndpoint]:
    return sorted(store.endpoints_of(company_id), key=lambda e: e.created_at)


def get_endpoint(company_id: str, endpoint_id: str) -> WebhookEndpoint:
    found = store.get_endpoint(company_id, endpoint_id)
    if found is None:
        raise NotFound("no such webhook endpoint")
    return found


def create_endpoint(company_id: str, by: str, url: str, events: list[str]) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its signing secret (shown this once)."""
    checked_events = _checked_events(events)
    checked_url = _checked_url(url)
    if len(store.endpoints_of(company_id)) >= MAX_ENDPOINTS:
        raise Conflict(f"a company has at most {MAX_ENDPOINTS} webhook endpoints; delete one first")
    now = clock.now()
    endpoint = WebhookEndpoint(
        company_id=company_id,
        endpoint_id="wh_" + uuid.uuid4().hex[:20],
        url=checked_url,
        events=checked_events,
        enabled=True,
        created_at=now,
        created_by=by,
        updated_at=now,
        secret_set_at=now,
    )
    secret = new_secret()
    _forget(company_id)
    if not store.create_endpoint(endpoint, _encrypt(company_id, endpoint.endpoint_id, secret)):
        raise Conflict("this webhook endpoint exists already")  # a 2^80 collision
    # Counted before writing, so administrators adding endpoints at once could each pass the
    # count: counted again after, one found past the bound removes itself (of two at once both
    # may: each may try again), so a company never keeps more than MAX_ENDPOINTS.
    if len(store.endpoints_of(company_id)) > MAX_ENDPOINTS:
        store.delete_endpoint(company_id, endpoint.endpoint_id)
        _forget(company_id)
        raise Conflict(f"a company has at most {MAX_ENDPOINTS} webhook endpoints; delete one first")
    logger().info(
        "webhook endpoint created",
        extra={"company_id": company_id, "endpoint_id": endpoint.endpoint_id, "by": by},
    )
    return endpoint, secret


def update_endpoint(
    company_id: str,
    endpoint_id: str,
    *,
    url: str | None = None,
    events: list[str] | None = None,
    enabled: bool | None = None,
    if_match: tuple[int, ...] | None = None,
) -> WebhookEndpoint:
    """Change the URL, the events or turn it on or off (turning it on forgets its failures); with
    ``if_match`` (the versions an ``If-Match`` names) only if no one changed it since (else 412)."""
    checked_events = None if events is None else _checked_events(events)
    checked_url = None if url is None else _checked_url(url)
    _forget(company_id)
    updated = store.update_endpoint(
        company_id,
        endpoint_id,
        clock.now(),
        url=checked_url,
        events=checked_events,
        enabled=enabled,
        expected=if_match,
    )
    if updated is None:
        if if_match is not None and store.get_endpoint(company_id, endpoint_id) is not None:
            raise edited_meanwhile("this webhook endpoint")
        raise NotFound("no such webhook endpoint")
    return updated


def rotate_secret(company_id: str, endpoint_id: str) -> tuple[WebhookEndpoint, str]:
    """A new signing secret (shown this once). For :data:`ROTATION_OVERLAP` the one it replaces
    signs each delivery too, so the receiver keeps working until it is given the new one; a
    second rotation within it replaces the pair (the oldest secret signs no more)."""
    secret = new_secret()
    now = clock.now()
    updated = store.update_endpoint(
        company_id,
        endpoint_id,
        now,
        ciphertext=_encrypt(company_id, endpoint_id, secret),
        overlap_until=now + ROTATION_OVERLAP,
    )
    if updated is None:
        raise NotFound("no such webhook endpoint")
    logger().info("webhook secret rotated", extra={"company_id": company_id, "endpoint_id": endpoint_id})
    return updated, secret


def delete_endpoint(company_id: str, endpoint_id: str) -> None:
    _forget(company_id)
    if not store.delete_endpoint(company_id, endpoint_id):
        raise NotFound("no such webhook endpoint")


def deliveries(
    company_id: str,
    endpoint_id: str,
    limit: int,
    cursor: dict[str, Any] | None,
    *,
    shows_url: bool = True,
) -> tuple[list[WebhookDelivery], dict[str, Any] | None]:
    """A page of an endpoint's delivery log, newest first. For whoever may not read the endpoint's
    URL (``shows_url`` false: staff below level 1), each error says nothing of its host or port
    either (:func:`error_without_address`)."""
    get_endpoint(company_id, endpoint_id)
    found, after = store.deliveries_page(company_id, endpoint_id, limit=limit, cursor=cursor)
    if not shows_url:
        found = [replace(d, error=error_without_address(d.error)) for d in found]
    return found, after


# A delivery's error as written by post_event, where it names the endpoint's host, its port or the
# address its name resolved to (DestinationRefused's reasons, a connection's failure), and the same
# error without them. Any other error that is not one of _NAMES_NOTHING is cut to its first word:
# a form written later, and not listed here, shows no address by mistake.
_NAMES_THE_ADDRESS = (
    (
        re.compile(
            r"(refused|unreachable): .+ is (an? [a-z-]+ address); Pregón connects only to public addresses"
        ),
        r"\1: the endpoint's address is \2; Pregón connects only to public addresses",
    ),
    (
        re.compile(r"(refused|unreachable): .+ is not a host name"),
        r"\1: the endpoint's host is not a host name",
    ),
    (
        re.compile(r"(refused|unreachable): .+ cannot be resolved"),
        r"\1: the endpoint's host cannot be resolved",
    ),
    (
        re.compile(r"refused: nothing accepts connections at .+"),
        "refused: nothing accepts connections at the endpoint's address",
    ),
    (re.compile(r"unreachable: .+ \(([A-Za-z]+)\)"), r"unreachable: the endpoint's address (\1)"),
)
# Errors that name no address: a timeout, a TLS failure's OpenSSL code, a redirect, and what
# url_problem says of a URL itself.
_NAMES_NOTHING = re.compile(
    r"timeout: no answer within [0-9.]+ s|TLS: [A-Za-z0-9_]+|redirects are not followed"
    r"|refused: (is longer than [0-9]+ characters|must not contain spaces or control characters"
    r"|is not a URL|must be an https:// URL|must not have a #fragment"
    r"|must name a port from 1 to 65535, or none"
    r"|must not carry a user or password \(the signature proves who is calling\))"
)
# The first word of an error of another form, kept before ADDRESS_WITHHELD.
_KINDS = ("refused", "unreachable")
#: What is left of an error of a form neither list knows, after its first word.
ADDRESS_WITHHELD = "the details are shown to administrators only"


def error_without_address(error: str | None) -> str | None:
    """A delivery's error as staff who may not read the endpoint's URL read it: its host, port and
    resolved address left out (docs/webhooks.md, "Who reads what")."""
    if error is None:
        return None
    for pattern, shown in _NAMES_THE_ADDRESS:  # first: a host may be any word ("is")
        if pattern.fullmatch(error):
            return pattern.sub(shown, error)
    if _NAMES_NOTHING.fullmatch(error):
        return error
    kind = error.split(":", 1)[0]
    return f"{kind}: {ADDRESS_WITHHELD}" if kind in _KINDS else ADDRESS_WITHHELD


# --- events -------------------------------------------------------------------------------------


def event_payload(
    event_type: str, occurred_at: datetime, *, event_id: str | None = None, **data: str | None
) -> dict[str, Any]:
    """What is posted: ids and the time only (no message body, address or other client's data)."""
    return {
        "id": event_id or "evt_" + uuid.uuid4().hex,
        "type": event_type,
        "created_at": occurred_at.isoformat().replace("+00:00", "Z"),
        "data": {k: v for k, v in data.items() if v is not None},
    }


def stable_event_id(company_id: str, *parts: str) -> str:
    """The same id for the same happening: a receiver told twice (SES's events come at least
    once; the queue too) sees one event."""
    return "evt_" + uuid.uuid5(uuid.NAMESPACE_URL, "pregon:" + ":".join((company_id, *parts))).hex


#: How long a worker trusts what it read of a company's endpoints before reading them again (an
#: SES event costs no read for a company without webhooks); changes made in the same process are
#: seen at once, other workers see them within this.
ENDPOINTS_CACHE_SECONDS = 60.0
#: The 503 of a request whose change is recorded but whose webhook event the queue refused.
REQUEST_NOT_ANNOUNCED = (
    "recorded, but the company's systems could not be told yet (their event queue refused it): "
    "try again in a minute"
)
#: At most this many companies' endpoints a process keeps; past it the least recently used go.
ENDPOINTS_CACHE_ENTRIES = 10_000
_endpoints_cache: TTLCache[str, list[WebhookEndpoint]] = TTLCache(
    maxsize=ENDPOINTS_CACHE_ENTRIES, ttl=ENDPOINTS_CACHE_SECONDS
)
_endpoints_cache_lock = threading.Lock()


def _forget(company_id: str) -> None:
    with _endpoints_cache_lock:
        _endpoints_cache.pop(company_id, None)


def subscribed(company_id: str, event_type: str) -> list[WebhookEndpoint]:
    """The company's enabled endpoints that asked for ``event_type`` (cached a minute)."""
    with _endpoints_cache_lock:
        cached = _endpoints_cache.get(company_id)
    if cached is None:
        cached = store.endpoints_of(company_id)
        with _endpoints_cache_lock:
            _endpoints_cache[company_id] = cached
    return [e for e in cached if e.enabled and event_type in e.events]


def announce_message(company_id: str, event_type: str, communication_id: str) -> int:
    """:func:`announce` about a communication (its client and channel read only when some
    endpoint asked for ``event_type``). Raises as :func:`announce` does."""
    if not subscribed(company_id, event_type):
        return 0
    from chalicelib.store import communications

    comm = communications.get(company_id, communication_id)
    if comm is None or not comm.client_id or (event_type == "inbound.received" and comm.auto_submitted):
        return 0  # (a machine's mail is no client writing: records.automatic_mail)
    return announce(
        company_id,
        event_type,
        client_id=comm.client_id,
        message_id=communication_id,
        channel=comm.channel,
    )


def announce(
    company_id: str,
    event_type: str,
    *,
    client_id: str | None,
    message_id: str | None = None,
    channel: str | None = None,
    ticket_id: str | None = None,
    reason: str | None = None,
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> int:
    """Queue ``event_type`` for each of the company's enabled endpoints that asked for it; how
    many. Nothing is lost: SQS's send is retried with backoff (:func:`_enqueue`), and when it still
    fails this raises, so the work that recorded the happening fails and its own trigger (SQS, SNS,
    the caller) runs it again; the event's id is stable, so a receiver told twice sees one event.
    A company without webhooks costs a cached read and nothing more."""
    endpoints = subscribed(company_id, event_type)
    if not endpoints:
        return 0
    now = clock.now()
    event = event_payload(
        event_type,
        occurred_at or now,
        event_id=event_id
        or (stable_event_id(company_id, event_type, message_id, client_id or "") if message_id else None),
        client_id=client_id,
        message_id=message_id,
        channel=channel,
        ticket_id=ticket_id,
        reason=reason,
    )
    try:
        _enqueue([_job(company_id, e.endpoint_id, event, now) for e in endpoints])
    except Exception:
        logger().exception(
            "webhook event not queued; the caller fails so that it is tried again",
            extra={"company_id": company_id, "event_type": event_type, "event_id": event["id"]},
        )
        raise
    return len(endpoints)


#: The channels whose messages to a client are told ``message.failed`` when Pregón gives them up.
FAILED_CHANNELS = ("email", "sms", "push")
#: ``data.reason`` of a ``message.failed`` for a message staff cancelled (docs/webhooks.md).
CANCELLED = "cancelled"


def announce_failed(
    company_id: str, comms: Sequence[Communication], occurred_at: datetime, *, reason: str | None = None
) -> tuple[set[str], Exception | None]:
    """Announce ``message.failed`` for each of ``comms`` that is a ``failed`` message to a client
    (e-mail, SMS or push), in order, under its stable id. Returns the ids whose event the queue
    refused and the first error: once the queue refuses, the rest are not tried against it (they
    are returned refused too). The caller leaves those unrecorded (or gives them back) so that
    they are told when tried again, and raises the error once the rest is recorded."""
    refused: set[str] = set()
    error: Exception | None = None
    for comm in comms:
        if comm.state != "failed" or comm.channel not in FAILED_CHANNELS or not comm.client_id:
            continue
        if error is not None:
            refused.add(comm.communication_id)
            continue
        try:
            announce(
                company_id,
                "message.failed",
                client_id=comm.client_id,
                message_id=comm.communication_id,
                channel=comm.channel,
                reason=reason,
                occurred_at=occurred_at,
            )
        except Exception as exc:  # logged by announce
            refused.add(comm.communication_id)
            error = exc
    return refused, error


def announce_or_try_later(company_id: str, event_type: str, **fields: Any) -> int:
    """:func:`announce` for a caller answering an HTTP request (a client's one-click unsubscribe,
    staff assigning a received e-mail): a queue that refuses the event is a 503 with Retry-After,
    documented on the route, rather than a bare 500. What the request changed is recorded; asking
    again announces the event again, under the same id."""
    from chalicelib.core.errors import PregonError, ServiceUnavailable

    try:
        return announce(company_id, event_type, **fields)
    except PregonError:
        raise
    except Exception as exc:
        raise ServiceUnavailable(REQUEST_NOT_ANNOUNCED, retry_after=60) from exc


def _job(company_id: str, endpoint_id: str, event: dict[str, Any], first_at: datetime) -> dict[str, Any]:
    return {
        "company_id": company_id,
        "endpoint_id": endpoint_id,
        "event": event,
        "attempt": 1,
        "first_at": first_at.isoformat(),
    }


def webhooks_queue() -> str:
    import os

    return os.environ.get("PREGON_WEBHOOKS_QUEUE", WEBHOOKS_QUEUE)


#: Sending to the webhook queue: the house's sending client (``core.aws.sending_client``: short
#: timeouts, botocore's standard retries with backoff on throttling, 5xx and connection errors) for
#: the whole request, then up to this many rounds for
#: the entries SQS refused one by one, :data:`ENQUEUE_PAUSE_SECONDS` apart (doubling).
ENQUEUE_ATTEMPTS = 4
ENQUEUE_PAUSE_SECONDS = 0.2


def _enqueue(jobs: list[dict[str, Any]], delay: int = 0) -> None:
    """Put the jobs on the webhook queue, or raise: the request retried by botocore, the entries
    SQS refused sent again (:data:`ENQUEUE_ATTEMPTS`)."""
    import time

    from chalicelib.core.aws import queue_url, sending_client

    url = queue_url(webhooks_queue())
    for first in range(0, len(jobs), 10):
        waiting = {
            str(n): {
                "Id": str(n),
                "MessageBody": json.dumps(job),
                "DelaySeconds": max(0, min(delay, MAX_QUEUE_DELAY)),
            }
            for n, job in enumerate(jobs[first : first + 10])
        }
        for attempt in range(ENQUEUE_ATTEMPTS):
            if attempt:
                time.sleep(ENQUEUE_PAUSE_SECONDS * 2 ** (attempt - 1))
            answer = sending_client("sqs").send_message_batch(QueueUrl=url, Entries=list(waiting.values()))
            waiting = {f["Id"]: waiting[f["Id"]] for f in answer.get("Failed") or []}
            if not waiting:
                break
        else:
            raise RuntimeError(f"SQS refused {len(waiting)} webhook messages")


# --- delivery -------------------------------------------------------------------------------------


def signature(secrets: list[str], timestamp: int, body: bytes) -> str:
    """The ``Pregon-Signature`` header's value for ``body`` sent at ``timestamp`` (Unix seconds):
    one ``v1=`` for each secret, the current one first (Stripe's scheme: a receiver accepts the
    body when any ``v1`` is right for its secret). The one a rotation replaced comes last, where a
    receiver that keeps only the last ``v1`` of the header still finds the one for its old secret."""
    signed = f"{timestamp}.".encode() + body
    return ",".join(
        [f"t={timestamp}"]
        + [f"v1={hmac.new(s.encode('utf-8'), signed, hashlib.sha256).hexdigest()}" for s in secrets]
    )


@dataclass(frozen=True)
class Attempt:
    """What one POST came to: ``outcome`` is delivered | failed | retry | refused."""

    outcome: str
    status_code: int | None = None
    error: str | None = None


def post_event(url: str, secrets: list[str], event: dict[str, Any]) -> Attempt:
    """One signed POST of ``event`` to ``url`` over ``http.client`` to a checked public address
    (``destinations.http_exchange``): no redirect followed, within :data:`TIMEOUT_SECONDS` from
    connecting to the answer's end; the answer's body read (bounded) and dropped."""
    from chalicelib.channels.deadlines import Deadline
    from chalicelib.channels.destinations import DestinationRefused, http_exchange

    problem = url_problem(url)
    if problem:
        return Attempt("refused", error=f"refused: {problem}")
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Pregon-Webhooks/1",
        "Pregon-Event-Id": str(event["id"]),
        SIGNATURE_HEADER: signature(secrets, int(clock.now().timestamp()), body),
    }
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        with http_exchange(parts.scheme, host, port, Deadline(TIMEOUT_SECONDS)) as connection:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            response.read(_MAX_BODY_BYTES)
            status = response.status
    except DestinationRefused as exc:
        if exc.unresolved:
            return Attempt("retry", error=f"unreachable: {exc.reason}")
        return Attempt("refused", error=f"refused: {exc.reason}")
    except ssl.SSLError as exc:
        return Attempt("retry", error=f"TLS: {getattr(exc, 'reason', None) or type(exc).__name__}")
    except TimeoutError:
        return Attempt("retry", error=f"timeout: no answer within {TIMEOUT_SECONDS:g} s")
    except ConnectionRefusedError:
        return Attempt("retry", error=f"refused: nothing accepts connections at {host}:{port}")
    except (http.client.HTTPException, OSError) as exc:
        return Attempt("retry", error=f"unreachable: {host}:{port} ({type(exc).__name__})")
    if 200 <= status < 300:
        return Attempt("delivered", status)
    if 300 <= status < 400:
        return Attempt("failed", status, "redirects are not followed")
    if status >= 500 or status in (408, 429):
        return Attempt("retry", status)
    return Attempt("failed", status)


def deliver(job: dict[str, Any]) -> str:
    """One attempt of one queued event to its endpoint (the queue's worker): signed, logged, and
    on a passing failure queued again after the next of :data:`RETRY_SECONDS`. Returns what it
    did: delivered | failed | retry | refused | gave-up | waiting | throttled | dropped | held.
    A suspended company's delivery is held, not posted (its log says ``held``): reopened, the
    company gets it (:func:`release_held`); deleted, it goes with the log."""
    from chalicelib.store.rate_limits import within

    company_id, endpoint_id = str(job["company_id"]), str(job["endpoint_id"])
    event, attempt = job["event"], int(job["attempt"])
    now = clock.now()
    not_before = job.get("not_before")
    if not_before and datetime.fromisoformat(not_before) > now:
        _enqueue([job], int((datetime.fromisoformat(not_before) - now).total_seconds()) + 1)
        return "waiting"  # a wait longer than SQS's 15 minutes: one more hop
    endpoint = store.get_endpoint(company_id, endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return "dropped"
    if endpoint.suspended_at is not None:  # decision 0033: kept until the company is reopened
        store.hold_delivery(company_id, endpoint_id, job, now)
        return "held"
    if not within(company_id, Limit("webhook-deliveries", EVENTS_PER_MINUTE, 60), endpoint_id):
        if now - datetime.fromisoformat(job["first_at"]) > DISABLE_AFTER:
            return "dropped"
        _enqueue([job], 60 - int(now.timestamp()) % 60 + 1)
        return "throttled"
    secrets = _signing_secrets(company_id, endpoint_id)
    if not secrets:
        return "dropped"
    result = post_event(endpoint.url, secrets, event)
    retry_in = _retry_in(job, now) if result.outcome == "retry" else None
    outcome = "gave-up" if result.outcome == "retry" and retry_in is None else result.outcome
    store.log_delivery(
        company_id,
        endpoint_id,
        WebhookDelivery(
            event_id=str(event["id"]),
            event_type=str(event["type"]),
            attempt=attempt,
            attempted_at=now,
            status_code=result.status_code,
            outcome="retrying" if outcome == "retry" else outcome,
            error=result.error,
        ),
    )
    if result.outcome == "delivered":
        store.note_success(company_id, endpoint_id)
        return outcome
    if retry_in is not None:
        due = now + timedelta(seconds=retry_in)
        _enqueue([{**job, "attempt": attempt + 1, "not_before": due.isoformat()}], retry_in)
    _note_failure(endpoint, now)
    return outcome


def release_held(company_id: str) -> int:
    """Queue again every delivery held while the company was suspended (its reopening), each
    with a day of retries from now; how many. A reopening that dies half-way is run again: what
    it released is no longer held."""
    now = clock.now()
    released = 0
    for endpoint in store.endpoints_of(company_id):
        for delivery_key, job in store.held_deliveries(company_id, endpoint.endpoint_id):
            job.pop("not_before", None)
            _enqueue([{**job, "first_at": now.isoformat()}])
            store.released_delivery(company_id, endpoint.endpoint_id, delivery_key)
            released += 1
    return released


def _retry_in(job: dict[str, Any], now: datetime) -> int | None:
    """Seconds until the next attempt, or None when the event has had its day (or its tries)."""
    attempt = int(job["attempt"])
    if attempt > len(RETRY_SECONDS):
        return None
    wait = RETRY_SECONDS[attempt - 1]
    if now + timedelta(seconds=wait) - datetime.fromisoformat(job["first_at"]) > DISABLE_AFTER:
        return None
    return wait


def _note_failure(endpoint: WebhookEndpoint, now: datetime) -> None:
    since = store.note_failure(endpoint.company_id, endpoint.endpoint_id, now)
    if since is None or now - since < DISABLE_AFTER:
        return
    reason = f"no successful delivery since {since.isoformat()}"
    _forget(endpoint.company_id)
    if store.disable_endpoint(endpoint.company_id, endpoint.endpoint_id, now, reason):
        logger().warning(
            "webhook endpoint disabled after a day of failures",
            extra={"company_id": endpoint.company_id, "endpoint_id": endpoint.endpoint_id},
        )
        _tell_administrators(endpoint, since)


def send_test_event(company_id: str, endpoint_id: str) -> tuple[dict[str, Any], Attempt]:
    """Post a ``webhook.test`` event to the endpoint now (once, no retry), logged as any other."""
    from chalicelib.store.rate_limits import within

    endpoint = get_endpoint(company_id, endpoint_id)
    if not within(company_id, Limit("webhook-tests", TESTS_PER_MINUTE, 60), endpoint_id):
        raise TooManyRequests("too many test events for this endpoint; try again in a minute", retry_after=60)
    if not within(company_id, Limit("webhook-company-tests", COMPANY_TESTS_PER_MINUTE, 60), company_id):
        raise TooManyRequests(
            f"at most {COMPANY_TESTS_PER_MINUTE} test events a minute for the company; try again in a minute",
            retry_after=60,
        )
    if not within(company_id, Limit("webhook-deliveries", EVENTS_PER_MINUTE, 60), endpoint_id):
        raise TooManyRequests(
            "this endpoint took its deliveries for this minute; try again in a minute", retry_after=60
        )
    secrets = _signing_secrets(company_id, endpoint_id)
    if not secrets:
        raise NotFound("no such webhook endpoint")
    now = clock.now()
    event = event_payload(TEST_EVENT, now)
    result = post_event(endpoint.url, secrets, event)
    if result.outcome == "retry":  # a test event is posted once: what would be retried has failed
        result = replace(result, outcome="failed")
    store.log_delivery(
        company_id,
        endpoint_id,
        WebhookDelivery(
            event_id=event["id"],
            event_type=TEST_EVENT,
            attempt=1,
            attempted_at=now,
            status_code=result.status_code,
            outcome=result.outcome,
            error=result.error,
        ),
    )
    return event, result


# --- the notice when an endpoint is turned off --------------------------------------------------


_TEXTS = {
    "es": {
        "subject": "Pregón: se desactivó un webhook de {company}",
        "body": (
            "Pregón no pudo entregar eventos a {url} desde el {since} y desactivó ese webhook.\n\n"
            "Los eventos de ahora en adelante no se envían. Revise el registro de entregas y vuelva a "
            'activarlo con PUT /webhooks/{endpoint_id} y "enabled": true cuando el servidor responda.\n'
        ),
    },
    "en": {
        "subject": "Pregón: a webhook of {company} was turned off",
        "body": (
            "Pregón could not deliver events to {url} since {since} and turned that webhook off.\n\n"
            "Events from now on are not sent. Look at its delivery log and turn it on again with "
            'PUT /webhooks/{endpoint_id} and "enabled": true once the server answers.\n'
        ),
    },
}


def _tell_administrators(endpoint: WebhookEndpoint, since: datetime) -> None:
    """E-mail the company's administrators once (the caller won the one disabling write)."""
    from chalicelib.core.aws import sending_client
    from chalicelib.core.localization import show_datetime_named
    from chalicelib.core.settings import get_settings, notice_from
    from chalicelib.messaging.accounts.domain_checks import notice_recipients, within_daily_notices
    from chalicelib.store.companies import get_company

    company_id = endpoint.company_id
    try:
        administrators = notice_recipients(company_id, "webhook", endpoint_id=endpoint.endpoint_id)
        company = get_company(company_id) if administrators else None
        # the cap counts the company's day: a company gone meanwhile has nobody to tell
        if company is None or not company.in_service or not within_daily_notices(company):
            return
        texts = _TEXTS["en" if company.language == "en" else "es"]
        values = {
            "company": company.name,
            "url": _shown_url(endpoint.url),
            # the company's clock, naming its zone (Z1), as the other notices to administrators
            "since": show_datetime_named(since, company.time_zone, company.locale),
            "endpoint_id": endpoint.endpoint_id,
        }
        message = EmailMessage()
        message["From"] = f"Pregón <{notice_from()}>"
        message["To"] = ", ".join(administrators[:50])
        message["Subject"] = texts["subject"].format(**values)
        message["Date"] = format_datetime(clock.now())
        message["Message-ID"] = make_msgid(domain=get_settings().mail_domain)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(texts["body"].format(**values), cte="quoted-printable")
        sending_client("sesv2").send_email(
            FromEmailAddress=notice_from(),
            Destination={"ToAddresses": administrators[:50]},
            Content={"Raw": {"Data": message.as_bytes(policy=SMTP)}},
        )
    except Exception:
        logger().exception("webhook disabled notice not sent", extra={"company_id": company_id})


def _shown_url(url: str) -> str:
    """The URL without its query (which may carry the receiver's own token)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
