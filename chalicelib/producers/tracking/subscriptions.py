"""Who follows a parcel (T3, T6.4, T7): subscribe (double opt-in for the public), confirm, renew,
cancel, unsubscribe by signed link."""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import Alert, Company, Follower, Parcel, Subscription
from chalicelib.core.errors import Conflict, Forbidden, Gone, NotFound, ValidationFailed
from chalicelib.core.links import (
    subscription_link_token,
    tracking_alert_headers,
    tracking_unsubscribe_url,
    verified_link_claims,
)
from chalicelib.core.secrets import same_secret
from chalicelib.core.settings import get_settings
from chalicelib.producers.tracking import limits
from chalicelib.producers.tracking.parcels import MAX_TRACKING_ID, alerts_available, get_parcel, may_exist
from chalicelib.store import tracking as store

FOLLOW_UP_DAYS = 30
# A public subscription waits this long for its address to confirm, then lapses.
CONFIRMATION_HOURS = 48
# Live subscriptions (confirmed or awaiting confirmation) one parcel may have.
MAX_FOLLOWERS = 50
_MAX_RETRIES = 12
SOURCES = ("public", "staff", "client_contact", "eventual_party", "issue_contact")


def subscription_id_for(email: str) -> str:
    """One subscription per address and parcel: asking again renews it."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class Subscriber:
    first_name: str
    last_name: str
    email: str
    phone: str | None = None


@dataclass(frozen=True)
class SubscribeResult:
    subscription: Subscription
    # True when a confirmation e-mail was sent: nothing else is sent until the address confirms.
    confirmation_sent: bool


# --- names (they reach e-mail headers and greetings) --------------------------------------

_LINK = re.compile(r"://|www\.|@|[\w-]+\.[^\W\d_]{2,}\b|/", re.IGNORECASE)


def name_problem(value: str) -> str | None:
    """Why a name typed by the public is refused, or None: no control, invisible or bidi
    characters (categories Cc, Cf, Zl, Zp), and nothing that looks like a link or an address."""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn") for ch in value):
        return "must not contain control, invisible or text-direction characters"
    if _LINK.search(value):
        return "must be a name, not a link or an address"
    return None


def header_name(first_name: str, last_name: str) -> str | None:
    """The display name for a To header, or None when the names do not pass the strict check:
    only letters, combining marks, spaces, apostrophes, hyphens and a final dot per word."""
    name = f"{first_name} {last_name}".strip()
    if not name or len(name) > 120 or re.search(r"\.\S", name):
        return None
    for ch in name:
        if ch in " '’-." or unicodedata.category(ch)[0] in ("L", "M"):
            continue
        return None
    return name


# --- subscribing ----------------------------------------------------------------------------


@dataclass
class Issuing:
    """What the issue of a shipment (T6) has read or written already, so that subscribing its
    followers one after another reads none of it again: the company (its time zone, its phone
    region), the parcel just written (so it exists), and the parcel's subscriptions, read with
    one query when the first follower is subscribed and kept up to date with each one written
    (read again after a lost race). The caller queues the parcel's latest novelty once, after
    the last follower (:func:`latest_to_new_followers`)."""

    company: Company
    parcel: Parcel
    _subscriptions: dict[str, Subscription] | None = field(default=None, repr=False)
    _region: str | None = field(default=None, repr=False)

    def _all(self) -> dict[str, Subscription]:
        if self._subscriptions is None:
            found = store.list_subscriptions(self.company.company_id, self.parcel.tracking_id)
            self._subscriptions = {s.subscription_id: s for s in found}
        return self._subscriptions

    def subscription(self, subscription_id: str) -> Subscription | None:
        return self._all().get(subscription_id)

    def active_subscriptions(self, now: datetime) -> int:
        """As ``store.count_active_subscriptions`` counts them (``Subscription.is_active``)."""
        return sum(1 for s in self._all().values() if s.is_active(now))

    def written(self, subscription: Subscription | None) -> None:
        """A subscription was written (None: a write lost a race, so read them all again)."""
        if subscription is None:
            self._subscriptions = None
        elif self._subscriptions is not None:
            self._subscriptions[subscription.subscription_id] = subscription

    def phone_region(self) -> str:
        from chalicelib.tenants.companies import phone_region

        if self._region is None:
            self._region = phone_region(self.company.company_id, self.company)
        return self._region


def latest_to_new_followers(company_id: str, tracking_id: str) -> bool:
    """New followers hear where the parcel is: its latest novelty is made pending if it was never
    alerted. The parcel is read again (consistently) after the followers were written: a novelty
    that landed before they followed was not made pending (``store.queue_latest``)."""
    return store.queue_latest(get_parcel(company_id, tracking_id), clock.now())


def subscribe(
    company_id: str,
    tracking_id: str,
    who: Subscriber,
    *,
    source: str,
    client_ip: str | None = None,
    issuing: Issuing | None = None,
) -> SubscribeResult:
    """Follow a parcel for 30 calendar days (T3).

    End customers (``public``) may only ask when alerts are available (T2), within the rate
    limits, and their address must confirm first (double opt-in): a new or lapsed subscription
    waits for confirmation and is sent only the confirmation e-mail; a confirmed one is sent the
    same e-mail, whose link renews it (the answer is the same, and nothing changes until then).
    Staff and automatic subscriptions (T6) need no confirmation, and renew at once; ``issuing``:
    what the issue that subscribes (T6) has read already (then the caller queues the latest).
    """
    if source not in SOURCES:
        raise ValidationFailed([{"field": "source", "message": f"must be one of {', '.join(SOURCES)}"}])
    public = source == "public"
    if public:
        if not may_exist(company_id, tracking_id):  # a stranger's URL: no key DynamoDB would refuse
            raise NotFound(f"there is no parcel with tracking id {tracking_id[:MAX_TRACKING_ID]!r}")
        limits.count_subscribe_request(company_id, client_ip)
        _check_public_names(who)
    parcel = issuing.parcel if issuing else get_parcel(company_id, tracking_id)
    if public and not alerts_available(company_id, parcel):
        raise Forbidden("alerts cannot be requested for this parcel")
    phone = _phone(company_id, who.phone, strict=source in ("public", "staff"), issuing=issuing)
    company = issuing.company if issuing else None
    if public and phone:
        _check_public_phone(company_id, phone)
    for attempt in range(_MAX_RETRIES):
        now = clock.now()
        email = who.email.strip()
        subscription_id = subscription_id_for(email)
        existing = (
            issuing.subscription(subscription_id)
            if issuing
            else store.get_subscription(company_id, tracking_id, subscription_id)
        )
        live = existing is not None and existing.cancelled_at is None and existing.expires_at > now
        if public:
            # A full parcel is full for every address: were a follower's renewal answered
            # otherwise than a newcomer, the answer would tell a stranger who follows it.
            _check_room(company_id, tracking_id, now)
        if existing is not None and live and not existing.awaiting_confirmation and public:
            # A confirmed address asked for again from the public page: renewed when the address
            # confirms, and answered as a new one is, so the page tells nobody who follows what.
            limits.count_confirmation(company_id, tracking_id, email)
            link_until = replace(existing, expires_at=now + timedelta(hours=CONFIRMATION_HOURS))
            _send_confirmation(link_until)
            return SubscribeResult(link_until, True)
        if existing is not None and live and not existing.awaiting_confirmation:
            # Renewal of a confirmed subscription by staff or the back office (T6).
            subscription = replace(
                existing,
                first_name=who.first_name.strip(),
                last_name=who.last_name.strip(),
                phone=phone,
                renewed_at=now,
                expires_at=_followed_until(company_id, now, company),
            )
            confirm = False
        else:
            if not public:  # (a public request was checked above)
                _check_room(company_id, tracking_id, now, issuing)  # again when the address confirms
            confirm = public
            waiting = existing is not None and live and existing.awaiting_confirmation
            asked = (who.first_name.strip(), who.last_name.strip(), phone)
            # The link already sent confirms what was asked then: asked again with other names or
            # phone (the address's owner correcting them, or a stranger), only the new link does.
            same = waiting and existing is not None and asked == _details(existing)
            subscription = Subscription(
                company_id=company_id,
                tracking_id=tracking_id,
                subscription_id=subscription_id_for(email),
                first_name=who.first_name.strip(),
                last_name=who.last_name.strip(),
                email=email,
                phone=phone,
                source=source,
                created_at=existing.created_at if waiting and existing else now,
                renewed_at=now,
                expires_at=now + timedelta(hours=CONFIRMATION_HOURS)
                if confirm
                else _followed_until(company_id, now, company),
                awaiting_confirmation=confirm,
                link_nonce=existing.link_nonce if same and existing else secrets.token_urlsafe(12),
            )
        if confirm:  # (a public request never loops: its write is a plain put)
            if phone:
                limits.count_phone(company_id, phone)
            limits.count_confirmation(company_id, tracking_id, email)
        try:
            saved = store.save_subscription(subscription, follows=not confirm)
        except store.StaleParcel:
            if issuing:
                issuing.written(None)
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # nosec B311 # jitter between retries, not a secret
            continue
        if confirm:
            _send_confirmation(saved)
        elif issuing:
            issuing.written(saved)
        else:
            latest_to_new_followers(company_id, tracking_id)
        return SubscribeResult(saved, confirm)
    raise Conflict(f"parcel {tracking_id!r} is changing too often right now; try again in a moment")


def _followed_until(company_id: str, now: datetime, company: Company | None = None) -> datetime:
    """When a subscription confirmed (or renewed) ``now`` ends: FOLLOW_UP_DAYS of the company's
    days later, at the same time of its clock (Z1), whatever summer-time change lies between.
    ``company``: the company when the caller has read it already."""
    from chalicelib.core.localization import days_later
    from chalicelib.tenants.companies import company_time_zone

    zone = company.time_zone if company else company_time_zone(company_id)
    return days_later(now, FOLLOW_UP_DAYS, zone)


def _details(subscription: Subscription) -> tuple[str, str, str | None]:
    """What a confirmation link confirms besides the address: the names and the phone."""
    return (subscription.first_name, subscription.last_name, subscription.phone)


class ParcelFull(Conflict):
    """The parcel has :data:`MAX_FOLLOWERS` active subscriptions: a 409."""


def _check_room(company_id: str, tracking_id: str, now: datetime, issuing: Issuing | None = None) -> None:
    """409 when the parcel already has MAX_FOLLOWERS active subscriptions. Unconfirmed ones do
    not count (so nobody can fill a parcel with addresses that never confirm; they are bounded
    by the per-parcel rate limit and lapse). Checked before writing, so requests racing for the
    last places may pass it together: the cap can be exceeded by as many concurrent requests."""
    active = (
        issuing.active_subscriptions(now)
        if issuing
        else store.count_active_subscriptions(company_id, tracking_id, now)
    )
    if active >= MAX_FOLLOWERS:
        raise ParcelFull(
            f"parcel {tracking_id!r} already has {MAX_FOLLOWERS} subscriptions, the most it may have"
        )


def _check_public_names(who: Subscriber) -> None:
    errors = [
        {"field": field, "message": problem}
        for field, value in (("first_name", who.first_name), ("last_name", who.last_name))
        if (problem := name_problem(value))
    ]
    if errors:
        raise ValidationFailed(errors)


def _check_public_phone(company_id: str, phone: str) -> None:
    """A phone given on the public page is one of the company's country (its SMS region): every
    SMS alert to it is the company's to pay, and a stranger who confirms addresses of their own
    could otherwise give numbers in countries whose SMS cost many times more, and whose operators
    share what they earn with whoever makes SMS reach them (SMS pumping). Staff, whom the person
    asked, may give any number (docs/decisions/0013-limits-on-anonymous-callers.md)."""
    from chalicelib.core.phones import region_of
    from chalicelib.tenants.companies import phone_region

    region = phone_region(company_id)
    if region_of(phone) != region:
        raise ValidationFailed(
            [
                {
                    "field": "phone",
                    "message": f"must be a phone number of {region}, the company's country: SMS alerts "
                    "asked for here go to no other country",
                }
            ]
        )


def _phone(company_id: str, raw: str | None, *, strict: bool, issuing: Issuing | None = None) -> str | None:
    """A subscriber's phone in E.164, read in the company's region (SMS alerts need it). A
    typed one that is not a phone number is refused (422 naming ``phone``); one copied from the
    client register (automatic subscriptions) is dropped instead of failing the issue."""
    if not raw:
        return None
    from chalicelib.core.phones import normalize_phone
    from chalicelib.tenants.companies import phone_region

    try:
        region = issuing.phone_region() if issuing else phone_region(company_id)
        return normalize_phone(raw, region, field="phone")
    except ValidationFailed:
        if strict:
            raise
        return None


def _send_confirmation(subscription: Subscription) -> None:
    """The only e-mail an unconfirmed address gets: from the company's tracking account, with
    a signed link; it carries none of the text the requester typed (no names)."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue
    from chalicelib.messaging.sandbox import default_template, render_message
    from chalicelib.messaging.templates import sender_area_of
    from chalicelib.store.companies import get_company
    from chalicelib.tenants.branding import company_variables

    company = get_company(subscription.company_id)
    language = company.language if company else "es"
    url = confirm_url(subscription)
    rendered = render_message(
        default_template("tracking_confirmation", language),
        {
            "company": company_variables(company),
            "parcel": {"tracking_id": subscription.tracking_id},
            "confirm_url": url,
            "hours": CONFIRMATION_HOURS,
        },
    )
    enqueue(
        subscription.company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address=subscription.email,
                subject=rendered.subject.strip(),
                text=rendered.text,
                html=rendered.html,
                message_type="tracking_confirmation",
                # from the account the alerts will come from (the tracking template's area)
                area=sender_area_of(subscription.company_id, "tracking_alert"),
                cause=f"subscription:{subscription.tracking_id}/{subscription.subscription_id}",
                headers={"Auto-Submitted": "auto-generated"},
            )
        ],
    )


def confirm(token: str) -> Subscription:
    """Confirm the subscription a confirmation link names: it follows the parcel for 30 days
    from now, and hears the parcel's latest status if it was never alerted. A confirmed one is
    renewed for 30 days from now (the link sent when its address was asked for again)."""
    claims = _claims(token, "confirm")
    for attempt in range(_MAX_RETRIES):
        now = clock.now()
        subscription = _named(claims)
        if subscription is None or subscription.cancelled_at is not None:
            raise NotFound("this subscription no longer exists")
        if subscription.expires_at <= now:
            raise Gone("this confirmation link has expired; ask for alerts again")
        if subscription.awaiting_confirmation:
            _check_room(subscription.company_id, subscription.tracking_id, now)
        # else confirmed already: the address renews it (a renewal link, or a second click)
        confirmed = replace(
            subscription,
            awaiting_confirmation=False,
            renewed_at=now,
            expires_at=_followed_until(subscription.company_id, now),
        )
        try:
            store.save_subscription(
                confirmed,
                follows=True,
                expect_nonce=subscription.link_nonce,
                expect_waiting=subscription.awaiting_confirmation,
            )
        except store.StaleParcel:
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # nosec B311 # jitter between retries, not a secret
            continue
        except store.SubscriptionChanged:
            continue  # confirmed or cancelled meanwhile: read it again
        if subscription.awaiting_confirmation:
            latest_to_new_followers(confirmed.company_id, confirmed.tracking_id)
        return confirmed
    raise Conflict("this parcel is changing too often right now; try again in a moment")


def subscriptions_of(company_id: str, tracking_id: str) -> list[Subscription]:
    get_parcel(company_id, tracking_id)
    return sorted(store.list_subscriptions(company_id, tracking_id), key=lambda s: s.created_at)


def cancel(company_id: str, tracking_id: str, subscription_id: str) -> None:
    if not _cancel(company_id, tracking_id, subscription_id):
        raise NotFound(f"there is no subscription {subscription_id!r} on parcel {tracking_id!r}")


def _cancel(company_id: str, tracking_id: str, subscription_id: str, nonce: str | None = None) -> bool:
    for attempt in range(_MAX_RETRIES):
        try:
            return store.cancel_subscription(
                company_id, tracking_id, subscription_id, clock.now(), nonce=nonce
            )
        except store.StaleParcel:
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # nosec B311 # jitter between retries, not a secret
    raise Conflict(f"parcel {tracking_id!r} is changing too often right now; try again in a moment")


@dataclass(frozen=True)
class FollowUp:
    parcel: Parcel
    subscriptions: list[Subscription]


def follow_ups(company_id: str, limit: int, cursor: dict[str, Any] | None) -> tuple[list[FollowUp], Any]:
    """Parcels under follow-up now, with their active subscribers (T7)."""
    now = clock.now()
    page = store.followed_parcels(company_id, now, limit, cursor)
    result = [FollowUp(p, store.active_subscriptions(company_id, p.tracking_id, now)) for p in page.items]
    return [f for f in result if f.subscriptions], page.cursor


def alerts_for_parcel(company_id: str, tracking_id: str) -> list[Alert]:
    get_parcel(company_id, tracking_id)
    return store.alerts_for_parcel(company_id, tracking_id)


def alerts_for_subscriber(company_id: str, email: str, limit: int, cursor: Any) -> tuple[list[Alert], Any]:
    page = store.alerts_for_recipient(company_id, email, limit, cursor)
    return page.items, page.cursor


# --- signed links: confirm (double opt-in) and unsubscribe (T7, RFC 8058) -------------------

# An unsubscribe link keeps working this long after the subscription it names expires.
UNSUBSCRIBE_GRACE_DAYS = 30


def _link_token(
    purpose: str, company_id: str, tracking_id: str, subscription_id: str, nonce: str | None, until: datetime
) -> str:
    return subscription_link_token(
        purpose, company_id, tracking_id, subscription_id, nonce, int(until.timestamp())
    )


def _claims(token: str, purpose: str) -> dict[str, Any]:
    """The claims of a link we signed for ``purpose``; its expiry is checked against our clock.
    Unsubscribe links sent before links named one subscription (no purpose, nonce nor expiry)
    are still honoured for a subscription that has no nonce either, until it expires."""
    import jwt

    invalid = ValidationFailed([{"field": "token", "message": "this link is not valid"}])
    try:
        claims = verified_link_claims(token, {"require": ["c", "t", "s"], "verify_exp": False})
    except jwt.PyJWTError as exc:
        raise invalid from exc
    legacy = "p" not in claims and purpose == "unsubscribe"
    if not legacy and (claims.get("p") != purpose or not isinstance(claims.get("exp"), int)):
        raise invalid
    if not legacy and clock.now().timestamp() >= claims["exp"]:
        raise Gone("this link has expired")
    return dict(claims)


def _same_nonce(stored: str | None, claimed: object) -> bool:
    """Whether a link's nonce is its subscription's (compared as a secret, though the link's
    signature was checked first); a subscription made before links had nonces matches a link
    without one."""
    if stored is None or claimed is None:
        return stored is None and claimed is None
    return isinstance(claimed, str) and same_secret(claimed, stored)


def _named(claims: dict[str, Any]) -> Subscription | None:
    """The subscription a link names, or None when it is gone or is a later one of the address."""
    subscription = store.get_subscription(str(claims["c"]), str(claims["t"]), str(claims["s"]))
    if subscription is None or not _same_nonce(subscription.link_nonce, claims.get("n")):
        return None
    if "p" not in claims and subscription.expires_at <= clock.now():
        return None  # a legacy link, past its subscription
    return subscription


def confirm_url(subscription: Subscription) -> str:
    token = _link_token(
        "confirm",
        subscription.company_id,
        subscription.tracking_id,
        subscription.subscription_id,
        subscription.link_nonce,
        subscription.expires_at,
    )
    return f"{get_settings().public_base_url}/public/subscriptions/confirm?token={token}"


def unsubscribe_token(
    company_id: str, tracking_id: str, subscription_id: str, nonce: str | None, expires_at: datetime
) -> str:
    return subscription_link_token(
        "unsubscribe", company_id, tracking_id, subscription_id, nonce, unsubscribe_until(expires_at)
    )


def unsubscribe_until(expires_at: datetime) -> int:
    """When a subscription's unsubscribe link stops working (seconds): its grace after expiry."""
    return int((expires_at + timedelta(days=UNSUBSCRIBE_GRACE_DAYS)).timestamp())


def unsubscribe_url(company_id: str, tracking_id: str, follower: Follower) -> str:
    return tracking_unsubscribe_url(
        company_id,
        tracking_id,
        follower.subscription_id,
        follower.link_nonce,
        unsubscribe_until(follower.expires_at),
    )


def alert_headers(company_id: str, tracking_id: str, follower: Follower) -> dict[str, str]:
    """A follower's alert e-mail's own headers (its one-click unsubscribe, ``Auto-Submitted``);
    the store makes them again from the message's ``alert_ref`` rather than keeping them."""
    return tracking_alert_headers(
        company_id,
        tracking_id,
        follower.subscription_id,
        follower.link_nonce,
        unsubscribe_until(follower.expires_at),
    )


def link_subscription(token: str, purpose: str) -> Subscription:
    """What a link's page shows before anything changes (GET): the subscription it names."""
    subscription = _named(_claims(token, purpose))
    if subscription is None:
        raise NotFound("this subscription no longer exists")
    return subscription


def unsubscribe(token: str) -> Subscription:
    """Cancel the one subscription a signed link names (POST, or RFC 8058 one-click); a
    tampered, foreign or expired token is refused, and a link of an earlier subscription of the
    same address cancels nothing."""
    claims = _claims(token, "unsubscribe")
    subscription = _named(claims)
    if subscription is None or not _cancel(
        subscription.company_id,
        subscription.tracking_id,
        subscription.subscription_id,
        subscription.link_nonce,
    ):
        raise NotFound("this subscription no longer exists")
    return subscription


# How far each link page is from the app's root (its links are relative, so they work under an
# API Gateway stage too): /public/subscriptions/confirm and /public/unsubscribe.
_PAGE_ROOTS = {"confirm_subscription": "../../", "subscription_confirmed": "../../"}


def page(
    name: str,
    company_id: str,
    variables: dict[str, Any],
    language: str | None = None,
    *,
    days: dict[str, datetime] | None = None,
) -> str:
    """A shipped page in ``language`` (the browser's, when it names one Pregón writes) or else the
    company's, with the company's logo and colours (W3); ``days``: moments shown as the day they
    are in the company's time zone, written as the page's language does in its country (as the
    alerts write them: ``5/1/2027``, not ``2027-01-05``)."""
    from chalicelib.core.localization import default_locale, show_date
    from chalicelib.messaging.sandbox import render_page
    from chalicelib.store.companies import get_company
    from chalicelib.tenants.branding import page_brand

    company = get_company(company_id)
    language = language or (company.language if company else "es")
    brand = page_brand(company, _PAGE_ROOTS.get(name, "../"))
    zone = company.time_zone if company else None
    if company is not None and language == company.language:
        locale = company.locale
    else:
        locale = default_locale(language, company.country if company else None)
    shown = {key: show_date(moment, locale, zone) for key, moment in (days or {}).items()}
    return render_page(
        name,
        language,
        {"company": company.name if company else "", "brand": brand, **variables, **shown},
    )
