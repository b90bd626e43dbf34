"""The SES mailbox simulator, locally. moto accepts an SES send and keeps it, but publishes no
events through the configuration set the send names (moto 5 only sends fixed feedback samples to
identity notification topics, without the message's id). This module observes every SES v2
``SendEmail`` moto answers (in this process: the stack's moto server, or a test's) and, shortly
after, publishes the events SES would publish to the configuration set's SNS destination:

| Recipient | Events |
|---|---|
| ``success@simulator.amazonses.com`` (and any other address) | Send, Delivery |
| ``bounce@simulator.amazonses.com`` | Send, Bounce (Permanent / General, ``550 5.1.1 user unknown``) |
| ``complaint@simulator.amazonses.com`` | Send, Delivery, Complaint (``abuse``) |
| ``suppressionlist@simulator.amazonses.com`` | Send, Bounce (Permanent / Suppressed) |

(``name+label@simulator.amazonses.com`` works like ``name@``, as on SES.) The payloads are AWS's
own examples (``samples/ses_event_*.json``) with this send's message id, addresses, headers and
tags (``ses:configuration-set``, ``ses:from-domain``, ... and the send's own ``EmailTags``). Only
the event types the destination matches are published, only when it is enabled, and nothing when
the send names no configuration set, as on SES.

    with SesMailboxSimulator():           # a thread publishes each send's events after `delay`
        ...
    with SesMailboxSimulator().start(thread=False) as simulator:    # or no thread (tests):
        simulator.publish_due(delay=0)    # they are published now, in this thread
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

SAMPLES = Path(__file__).parent / "samples"
SIMULATOR_DOMAIN = "simulator.amazonses.com"
SUPPRESSED_DIAGNOSTIC = (
    "Amazon SES has suppressed sending to this address because it has a recent history of "
    "bouncing as an invalid address. For more information about how to remove an address from "
    "the suppression list, see the Amazon SES Developer Guide: "
    "https://docs.aws.amazon.com/ses/latest/DeveloperGuide/remove-from-suppressionlist.html"
)


@dataclass(frozen=True)
class SesSend:
    """One ``SendEmail`` moto accepted: what the caller asked and the id moto answered."""

    message_id: str
    account_id: str
    region: str
    params: dict[str, Any]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def raw(self) -> bytes:
        import base64

        raw = ((self.params.get("Content") or {}).get("Raw") or {}).get("Data")
        return base64.b64decode(raw) if raw else b""

    @property
    def source(self) -> str:
        return str(self.params.get("FromEmailAddress") or "")

    @property
    def recipients(self) -> list[str]:
        destination = self.params.get("Destination") or {}
        parts = ("ToAddresses", "CcAddresses", "BccAddresses")
        named = [str(a) for part in parts for a in destination.get(part, [])]
        if named:
            return named
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(self.raw)
        found = getaddresses([str(v) for h in ("To", "Cc") for v in headers.get_all(h, [])])
        return [address for _, address in found if address]


# --- observing moto --------------------------------------------------------------------------

_observers: list[Callable[[SesSend], None]] = []
_observers_lock = threading.Lock()


def _install_observer_hook() -> None:
    """Wrap moto's SES v2 ``SendEmail`` so that each accepted send is told to the observers."""
    from moto.sesv2.responses import SESV2Response

    if getattr(SESV2Response.send_email, "_pregon_observed", False):
        return
    original = SESV2Response.send_email

    def send_email(self: SESV2Response) -> str:
        answer = original(self)
        try:
            sent = SesSend(
                message_id=str(json.loads(answer)["MessageId"]),
                account_id=str(self.current_account),
                region=str(self.region),
                params=json.loads(self.body),
            )
        except (ValueError, KeyError, TypeError):
            log.exception("an SES send could not be observed")
            return answer
        with _observers_lock:
            observers = list(_observers)
        for observe in observers:
            observe(sent)
        return answer

    send_email._pregon_observed = True  # type: ignore[attr-defined]
    SESV2Response.send_email = send_email  # type: ignore[method-assign]


# --- the events SES publishes -----------------------------------------------------------------


def outcome_of(address: str) -> str:
    """``delivery``, ``bounce``, ``complaint`` or ``suppressed``, as the mailbox simulator answers."""
    local, _, domain = address.strip().lower().rpartition("@")
    if domain != SIMULATOR_DOMAIN:
        return "delivery"
    name = local.partition("+")[0]
    outcomes = {"bounce": "bounce", "complaint": "complaint", "suppressionlist": "suppressed"}
    return outcomes.get(name, "delivery")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sample(event_type: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / f"ses_event_{event_type.lower()}.json").read_text())
    return copy.deepcopy(loaded)


def _mail_object(sent: SesSend, configuration_set: str) -> dict[str, Any]:
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(sent.raw)
    common: dict[str, Any] = {}
    for name, key in (("From", "from"), ("To", "to"), ("Cc", "cc"), ("Reply-To", "replyTo")):
        if headers.get_all(name):
            common[key] = [str(v) for v in headers.get_all(name, [])]
    if headers.get("Date") is not None:
        common["date"] = str(headers["Date"])
    common["messageId"] = sent.message_id
    if headers.get("Subject") is not None:
        common["subject"] = str(headers["Subject"])
    from_domain = sent.source.rpartition("@")[2].strip(">").lower()
    tags: dict[str, list[str]] = {
        "ses:configuration-set": [configuration_set],
        "ses:source-ip": ["127.0.0.1"],
        "ses:from-domain": [from_domain],
        "ses:caller-identity": ["test"],
    }
    for tag in sent.params.get("EmailTags") or []:
        tags.setdefault(str(tag["Name"]), []).append(str(tag["Value"]))
    return {
        "timestamp": _iso(sent.at),
        "source": sent.source,
        "sourceArn": f"arn:aws:ses:{sent.region}:{sent.account_id}:identity/{from_domain}",
        "sendingAccountId": sent.account_id,
        "messageId": sent.message_id,
        "destination": sent.recipients,
        "headersTruncated": False,
        "headers": [{"name": k, "value": str(v)} for k, v in headers.items()],
        "commonHeaders": common,
        "tags": tags,
    }


def events_for(sent: SesSend, configuration_set: str) -> list[dict[str, Any]]:
    """The event records SES publishes for one send, in order: Send, then per outcome."""
    mail = _mail_object(sent, configuration_set)
    later = _iso(sent.at + timedelta(seconds=1))
    by_outcome: dict[str, list[str]] = {}
    for address in sent.recipients:
        by_outcome.setdefault(outcome_of(address), []).append(address)
    events: list[dict[str, Any]] = [{**_sample("Send"), "mail": mail}]
    delivered = by_outcome.get("delivery", []) + by_outcome.get("complaint", [])
    if delivered:
        event = _sample("Delivery")
        event["mail"] = mail
        event["delivery"].update(
            timestamp=later,
            processingTimeMillis=1000,
            recipients=delivered,
            smtpResponse="250 2.6.0 Message received",
            reportingMTA=f"a8-70.smtp-out.{sent.region}.amazonses.com",
        )
        events.append(event)
    for outcome, subtype, status, diagnostic in (
        ("bounce", "General", "5.1.1", "smtp; 550 5.1.1 user unknown"),
        ("suppressed", "Suppressed", "5.1.1", SUPPRESSED_DIAGNOSTIC),
    ):
        if by_outcome.get(outcome):
            event = _sample("Bounce")
            event["mail"] = mail
            event["bounce"].update(
                bounceType="Permanent",
                bounceSubType=subtype,
                bouncedRecipients=[
                    {"emailAddress": a, "action": "failed", "status": status, "diagnosticCode": diagnostic}
                    for a in by_outcome[outcome]
                ],
                timestamp=later,
                feedbackId=f"{sent.message_id}-{outcome}",
                reportingMTA=f"dns; {SIMULATOR_DOMAIN}",
            )
            events.append(event)
    if by_outcome.get("complaint"):
        event = _sample("Complaint")
        event["mail"] = mail
        event["complaint"].update(
            complainedRecipients=[{"emailAddress": a} for a in by_outcome["complaint"]],
            timestamp=later,
            feedbackId=f"{sent.message_id}-complaint",
            complaintFeedbackType="abuse",
            arrivalDate=later,
        )
        events.append(event)
    return events


def _event_destinations(sent: SesSend, configuration_set: str) -> list[dict[str, Any]]:
    """The configuration set's enabled SNS destinations, as moto keeps them."""
    from moto.ses.models import ses_backends

    backend = ses_backends[sent.account_id][sent.region]
    destination = backend.config_set_event_destination.get(configuration_set)
    if not destination:
        return []
    return [destination] if str(destination.get("Enabled", True)).lower() != "false" else []


def _matching_types(destination: dict[str, Any]) -> set[str]:
    types = destination.get("MatchingEventTypes") or []
    if isinstance(types, dict):  # the query protocol's {"member": [...]}
        types = types.get("member") or []
    return {str(t).lower() for t in types}


def _topic_of(destination: dict[str, Any]) -> str | None:
    sns = destination.get("SNSDestination") or destination.get("SnsDestination") or {}
    arn = sns.get("TopicARN") or sns.get("TopicArn")
    return str(arn) if arn else None


class SesMailboxSimulator:
    """Observes SES sends in this process's moto and publishes their events after ``delay``."""

    def __init__(self, delay: float = 3.0) -> None:
        self.delay = delay
        self._waiting: list[tuple[float, SesSend]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.published: list[dict[str, Any]] = []

    def observe(self, sent: SesSend) -> None:
        with self._lock:
            self._waiting.append((time.monotonic(), sent))

    def publish_due(self, delay: float | None = None) -> int:
        """Publish the events of every send older than ``delay`` seconds; how many events."""
        wait = self.delay if delay is None else delay
        now = time.monotonic()
        with self._lock:
            due = [s for at, s in self._waiting if now - at >= wait]
            self._waiting = [(at, s) for at, s in self._waiting if now - at < wait]
        return sum(self._publish(sent) for sent in due)

    def _publish(self, sent: SesSend) -> int:
        from chalicelib.core.aws import client

        name = sent.params.get("ConfigurationSetName")
        if not name:
            return 0
        count = 0
        for destination in _event_destinations(sent, str(name)):
            topic, wanted = _topic_of(destination), _matching_types(destination)
            if topic is None:
                continue
            for event in events_for(sent, str(name)):
                if event["eventType"].lower() not in wanted:
                    continue
                client("sns").publish(TopicArn=topic, Message=json.dumps(event))
                self.published.append(event)
                count += 1
        log.info("SES simulator: %d event(s) for %s", count, sent.message_id)
        return count

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            try:
                self.publish_due()
            except Exception:
                log.exception("SES simulator could not publish events")

    def start(self, *, thread: bool = True) -> SesMailboxSimulator:
        """Observe every send from now on; with ``thread``, a thread publishes each one's events
        ``delay`` seconds later (without, only ``publish_due`` does). A started simulator stays as
        it was started: ``with SesMailboxSimulator().start(thread=False)`` gets no thread from
        ``__enter__``, and no send is observed twice."""
        _install_observer_hook()
        with _observers_lock:
            if self.observe in _observers:
                return self
            _observers.append(self.observe)
        if thread and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="ses-simulator", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        with _observers_lock:
            if self.observe in _observers:
                _observers.remove(self.observe)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> SesMailboxSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
