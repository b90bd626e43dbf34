"""Who follows a parcel (T3, T6.4, T7): subscribe, renew, cancel, unsubscribe by signed link."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib import clock
from chalicelib.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.settings import get_settings
from chalicelib.store import tracking as store
from chalicelib.store.records import Alert, Follower, Parcel, Subscription
from chalicelib.tracking.parcels import alerts_available, get_parcel

FOLLOW_UP_DAYS = 30
_MAX_RETRIES = 8
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


def subscribe(company_id: str, tracking_id: str, who: Subscriber, *, source: str) -> Subscription:
    """Follow a parcel for 30 calendar days from now (T3). End customers may only subscribe
    when alerts are available (T2); staff may subscribe anyone to an existing parcel (T6.4)."""
    if source not in SOURCES:
        raise ValidationFailed([{"field": "source", "message": f"must be one of {', '.join(SOURCES)}"}])
    parcel = get_parcel(company_id, tracking_id)
    if source == "public" and not alerts_available(company_id, parcel):
        raise Forbidden("alerts cannot be requested for this parcel")
    now = clock.now()
    email = who.email.strip()
    subscription = Subscription(
        company_id=company_id,
        tracking_id=tracking_id,
        subscription_id=subscription_id_for(email),
        first_name=who.first_name.strip(),
        last_name=who.last_name.strip(),
        email=email,
        phone=who.phone,
        source=source,
        created_at=now,
        renewed_at=now,
        expires_at=now + timedelta(days=FOLLOW_UP_DAYS),
    )
    saved = store.save_subscription(subscription)
    follower = Follower(
        saved.subscription_id, saved.email, saved.first_name, saved.last_name, saved.expires_at
    )
    _update_followers(company_id, tracking_id, add=follower)
    return saved


def _update_followers(
    company_id: str, tracking_id: str, *, add: Follower | None = None, remove: str | None = None
) -> None:
    """Keep the parcel's followers in step with its subscriptions (expired ones drop out).

    A new follower of a parcel whose latest novelty was never alerted gets it at the next
    sweep, so whoever subscribes after the parcel moved hears where it is.
    """
    for _ in range(_MAX_RETRIES):
        now = clock.now()
        parcel = get_parcel(company_id, tracking_id)
        followers = {sid: f for sid, f in parcel.followers.items() if f.expires_at > now and sid != remove}
        if add is not None:
            followers[add.subscription_id] = add
        latest = parcel.latest
        queue = (
            add is not None
            and latest is not None
            and parcel.pending is None
            and (parcel.notified_occurred_at is None or latest.occurred_at > parcel.notified_occurred_at)
        )
        try:
            store.set_followers(parcel, followers, queue_latest=queue, now=now)
        except store.StaleParcel:
            continue
        return
    raise RuntimeError(f"parcel {tracking_id} kept changing; followers not updated")


def subscriptions_of(company_id: str, tracking_id: str) -> list[Subscription]:
    get_parcel(company_id, tracking_id)
    return sorted(store.list_subscriptions(company_id, tracking_id), key=lambda s: s.created_at)


def cancel(company_id: str, tracking_id: str, subscription_id: str) -> None:
    if not store.cancel_subscription(company_id, tracking_id, subscription_id, clock.now()):
        raise NotFound(f"there is no subscription {subscription_id!r} on parcel {tracking_id!r}")
    _update_followers(company_id, tracking_id, remove=subscription_id)


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


# --- unsubscribe links (T7, RFC 8058) ------------------------------------------------------


def _signing_key() -> str:
    key = get_settings().link_signing_key
    if len(key) < 32:
        raise RuntimeError("PREGON_LINK_SIGNING_KEY must be set to at least 32 characters")
    return key


def unsubscribe_token(company_id: str, tracking_id: str, subscription_id: str) -> str:
    import jwt

    claims = {"c": company_id, "t": tracking_id, "s": subscription_id}
    return jwt.encode(claims, _signing_key(), algorithm="HS256")


def unsubscribe_url(company_id: str, tracking_id: str, subscription_id: str) -> str:
    token = unsubscribe_token(company_id, tracking_id, subscription_id)
    return f"{get_settings().public_base_url}/public/unsubscribe?token={token}"


def unsubscribe(token: str) -> Subscription:
    """Cancel the subscription a signed link names; a tampered or foreign token is refused."""
    import jwt

    try:
        claims = jwt.decode(token, _signing_key(), algorithms=["HS256"], options={"require": ["c", "t", "s"]})
    except jwt.PyJWTError as exc:
        raise ValidationFailed([{"field": "token", "message": "this link is not valid"}]) from exc
    company_id, tracking_id, subscription_id = str(claims["c"]), str(claims["t"]), str(claims["s"])
    subscription = store.get_subscription(company_id, tracking_id, subscription_id)
    if subscription is None:
        raise NotFound("this subscription no longer exists")
    store.cancel_subscription(company_id, tracking_id, subscription_id, clock.now())
    _update_followers(company_id, tracking_id, remove=subscription_id)
    return subscription


def unsubscribe_confirmation(token: str) -> str:
    """Cancel by link and return the confirmation page in the company's language."""
    from chalicelib.rendering import render_page
    from chalicelib.store.companies import get_company

    subscription = unsubscribe(token)
    company = get_company(subscription.company_id)
    language = company.language if company else "es"
    return render_page("unsubscribed", language, {"tracking_id": subscription.tracking_id})
