"""Companies' SES sending domains (issue 10, point 7)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, cast

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain as records
from chalicelib.store.communications import carries_one_click, get_many, id_range
from chalicelib.store.models import CommunicationModel, SenderDomainModel
from chalicelib.store.tables import written


def _domain(item: SenderDomainModel) -> records.SenderDomain:
    return records.SenderDomain(
        domain=item.domain,
        company_id=item.company_id,
        mail_from_domain=item.mail_from_domain,
        dkim_tokens=tuple(str(t) for t in item.dkim_tokens or []),
        created_at=item.created_at,
        created_by=item.created_by,
        removing_since=item.removing_since,
        verified_once=bool(item.verified_once),
        unverified_since=item.unverified_since,
        unverified_notice_for=item.unverified_notice_for,
        lapse_notice_for=item.lapse_notice_for,
        unverified_notice_sending_until=item.unverified_notice_sending_until,
        lapse_notice_sending_until=item.lapse_notice_sending_until,
    )


def claim_domain(entry: records.SenderDomain) -> bool:
    """Write the company's domain; False when another company has it already (nothing written).
    The company registering its own domain again overwrites it (new tokens, same owner) but keeps
    when and by whom it was first registered (a registration SES has not verified lapses 72 hours
    after that, and asking again must not put it off), and a removal it interrupts is called off
    (its accounts' version is kept)."""
    return written(
        lambda: SenderDomainModel(entry.domain).update(
            actions=[
                SenderDomainModel.company_id.set(entry.company_id),
                SenderDomainModel.mail_from_domain.set(entry.mail_from_domain),
                SenderDomainModel.dkim_tokens.set(cast(Any, list(entry.dkim_tokens))),  # plain strings
                SenderDomainModel.created_at.set(SenderDomainModel.created_at | entry.created_at),
                SenderDomainModel.created_by.set(SenderDomainModel.created_by | entry.created_by),
                SenderDomainModel.removing_since.remove(),
                SenderDomainModel.registered.set(REGISTERED),
            ],
            condition=SenderDomainModel.domain.does_not_exist()
            | (SenderDomainModel.company_id == entry.company_id),
        )
    )


def take_over_domain(
    entry: records.SenderDomain,
    *,
    previous: records.SenderDomain,
    version: int | None,
    removal_marked_by: datetime,
) -> bool:
    """Give the domain to ``entry``'s company, only while it is still ``previous``: the same
    company's registration of the same first time, judged lapsed from the same verification
    history (a check that found it verified meanwhile moves it); and no SES account was saved on it
    since its accounts were checked at ``version`` and no removal of it was marked (or marked
    again) after ``removal_marked_by``. False otherwise (another company took it first, the owner
    registered it anew, saved an account, had it verified or is removing it): nothing written. One
    write: owner, tokens, first registration, verification history and a removal's mark change
    together."""
    unchanged = (
        SenderDomainModel.accounts_version.does_not_exist()
        if version is None
        else SenderDomainModel.accounts_version == version
    )
    no_removal_running = SenderDomainModel.removing_since.does_not_exist() | (
        SenderDomainModel.removing_since <= removal_marked_by
    )
    same_history = (
        SenderDomainModel.unverified_since == previous.unverified_since
        if previous.verified_once and previous.unverified_since is not None
        else SenderDomainModel.verified_once.does_not_exist()
    )
    return written(
        lambda: SenderDomainModel(entry.domain).update(
            actions=[
                SenderDomainModel.company_id.set(entry.company_id),
                SenderDomainModel.mail_from_domain.set(entry.mail_from_domain),
                SenderDomainModel.dkim_tokens.set(cast(Any, list(entry.dkim_tokens))),
                SenderDomainModel.created_at.set(entry.created_at),
                SenderDomainModel.created_by.set(entry.created_by),
                SenderDomainModel.removing_since.remove(),
                SenderDomainModel.registered.set(REGISTERED),
                SenderDomainModel.verified_once.remove(),
                SenderDomainModel.unverified_since.remove(),
                SenderDomainModel.unverified_notice_for.remove(),
                SenderDomainModel.lapse_notice_for.remove(),
                SenderDomainModel.unverified_notice_sending_until.remove(),
                SenderDomainModel.lapse_notice_sending_until.remove(),
            ],
            condition=(SenderDomainModel.company_id == previous.company_id)
            & (SenderDomainModel.created_at == previous.created_at)
            & same_history
            & unchanged
            & no_removal_running,
        )
    )


def accounts_version(name: str) -> int | None:
    """How many times an SES account was saved on the domain (None: never); read strongly."""
    try:
        item = SenderDomainModel.get(name, consistent_read=True, attributes_to_get=["accounts_version"])
    except DoesNotExist:
        return None
    return None if item.accounts_version is None else int(item.accounts_version)


def start_removal(name: str, company_id: str, version: int | None, now: datetime) -> bool:
    """Mark the company's domain as being removed, only while no SES account was saved on it since
    its accounts were checked at ``version``; False when one was (or the domain is not the
    company's): nothing written. From then on no SES account may be saved on it, and the hourly
    check no longer lists it."""
    unchanged = (
        SenderDomainModel.accounts_version.does_not_exist()
        if version is None
        else SenderDomainModel.accounts_version == version
    )
    return written(
        lambda: SenderDomainModel(name).update(
            actions=[SenderDomainModel.removing_since.set(now), SenderDomainModel.registered.remove()],
            condition=(SenderDomainModel.company_id == company_id) & unchanged,
        )
    )


def renew_removal(name: str, company_id: str, now: datetime) -> bool:
    """Mark the domain as being removed at ``now`` again, only while it is still the company's and
    still marked (a removal asked for again, right before it deletes the SES identity); False
    otherwise (another company took it over, or the company registered it again): nothing written."""
    return written(
        lambda: SenderDomainModel(name).update(
            actions=[SenderDomainModel.removing_since.set(now)],
            condition=(SenderDomainModel.company_id == company_id)
            & SenderDomainModel.removing_since.exists(),
        )
    )


def note_verified(name: str, company_id: str) -> None:
    """A check found SES verifying the company's domain: it was verified once, and is no longer
    unverified since any time (nothing written when the domain is not the company's)."""
    written(
        lambda: SenderDomainModel(name).update(
            actions=[
                SenderDomainModel.verified_once.set(True),
                SenderDomainModel.unverified_since.remove(),
                SenderDomainModel.unverified_notice_for.remove(),
                SenderDomainModel.lapse_notice_for.remove(),
                SenderDomainModel.unverified_notice_sending_until.remove(),
                SenderDomainModel.lapse_notice_sending_until.remove(),
            ],
            condition=SenderDomainModel.company_id == company_id,
        )
    )


def note_unverified(name: str, company_id: str, now: datetime) -> None:
    """A check found the company's domain, verified once, no longer verified: it is unverified since
    ``now``, unless an earlier check found so first (nothing written then, nor when the domain is
    not the company's or was never verified)."""
    written(
        lambda: SenderDomainModel(name).update(
            actions=[SenderDomainModel.unverified_since.set(now)],
            condition=(SenderDomainModel.company_id == company_id)
            & SenderDomainModel.verified_once.exists()
            & SenderDomainModel.unverified_since.does_not_exist(),
        )
    )


def claim_unverified_notice(
    name: str,
    company_id: str,
    since: datetime,
    *,
    notices: tuple[str, ...],
    sending_until: datetime,
    taking_over: Mapping[str, datetime] | None = None,
) -> bool:
    """Mark the notices (``unverified``: the first one; ``lapse``: the last, a day before the lapse)
    of the company's domain, unverified since ``since``, as sent, and as being sent until
    ``sending_until`` (``confirm_unverified_notice`` removes that once they went); only while it is
    still the company's and still unverified since then, and each notice either not marked for
    ``since`` yet or, when ``taking_over`` names it, still marked so and still being sent until
    exactly the moment it names (a claim whose sender died: its lease ran out). False otherwise
    (another check claimed them first, or took the dead claim over first, or the domain changed):
    nothing written. Two checks at once: one sends."""
    taking_over = taking_over or {}
    condition = (SenderDomainModel.company_id == company_id) & (SenderDomainModel.unverified_since == since)
    actions: list[Any] = []
    for notice in notices:
        marked, sending = _NOTICES[notice]
        if notice in taking_over:
            condition &= (marked == since) & (sending == taking_over[notice])
        else:
            condition &= marked.does_not_exist() | (marked != since)
        actions += [marked.set(since), sending.set(sending_until)]
    return written(lambda: SenderDomainModel(name).update(actions=actions, condition=condition))


def confirm_unverified_notice(
    name: str, company_id: str, since: datetime, *, notices: tuple[str, ...], sending_until: datetime
) -> bool:
    """The claimed notices' messages were handed to SES: they are no longer being sent, only sent.
    Only while the claim is still this one (the same ``since``, the same ``sending_until``); False
    otherwise (the domain changed, or another check took the claim over): nothing written."""
    condition = SenderDomainModel.company_id == company_id
    actions: list[Any] = []
    for notice in notices:
        marked, sending = _NOTICES[notice]
        condition &= (marked == since) & (sending == sending_until)
        actions.append(sending.remove())
    return written(lambda: SenderDomainModel(name).update(actions=actions, condition=condition))


def release_unverified_notice(
    name: str, company_id: str, since: datetime, *, notices: tuple[str, ...], sending_until: datetime
) -> None:
    """Take back a claim of the notices whose sending failed, so that the next check sends them
    (nothing written when the domain changed meanwhile, or another check took the claim over)."""
    condition = SenderDomainModel.company_id == company_id
    actions: list[Any] = []
    for notice in notices:
        marked, sending = _NOTICES[notice]
        condition &= (marked == since) & (sending == sending_until)
        actions += [marked.remove(), sending.remove()]
    written(lambda: SenderDomainModel(name).update(actions=actions, condition=condition))


# Each notice's mark (the ``unverified_since`` it was claimed for) and its claim's lease.
_NOTICES = {
    "unverified": (
        SenderDomainModel.unverified_notice_for,
        SenderDomainModel.unverified_notice_sending_until,
    ),
    "lapse": (SenderDomainModel.lapse_notice_for, SenderDomainModel.lapse_notice_sending_until),
}


def get_domain(name: str) -> records.SenderDomain | None:
    try:
        return _domain(SenderDomainModel.get(name, consistent_read=True))
    except DoesNotExist:
        return None


def release_domain(name: str, company_id: str) -> bool:
    """Delete the company's record of the domain; False when it is not the company's (nothing deleted)."""
    return written(
        lambda: SenderDomainModel(name).delete(condition=SenderDomainModel.company_id == company_id)
    )


def list_domains(company_id: str) -> list[records.SenderDomain]:
    return [_domain(item) for item in SenderDomainModel.by_company.query(company_id)]


# The one value of ``registered``: every registered domain under one partition of its index.
REGISTERED = "domain"


def registered_domains() -> Iterator[records.RegisteredDomain]:
    """Every registered domain not being removed, with its company, in domain order: a Query of the
    sparse ``registered`` index (its keys and ``company_id``, a 1 MB page at a time), never every
    company's listing, never a Scan. The index lags the table a moment."""
    for item in SenderDomainModel.registered_domains.query(REGISTERED):
        yield records.RegisteredDomain(domain=item.domain, company_id=item.company_id)


def index_registered_domains() -> int:
    """Give the domains stored before the ``registered`` index, not being removed, their entry in
    it (an operator's one-off after the upgrade: a Scan of ``sender-domains``, each item once).
    Each write holds only while the domain still exists and no removal started meanwhile; run
    again, it finds nothing to do. Returns how many domains it indexed."""
    not_removing = SenderDomainModel.removing_since.does_not_exist()
    indexed = 0
    for item in SenderDomainModel.scan(
        SenderDomainModel.registered.does_not_exist() & not_removing, attributes_to_get=["domain"]
    ):
        indexed += _join_registered(item.domain)
    return indexed


def _join_registered(name: str) -> bool:
    """The domain joins the ``registered`` index, while it exists and is not being removed."""
    return written(
        lambda: SenderDomainModel(name).update(
            actions=[SenderDomainModel.registered.set(REGISTERED)],
            condition=SenderDomainModel.domain.exists() & SenderDomainModel.removing_since.does_not_exist(),
        )
    )


def email_outcomes_from(
    company_id: str,
    address_domain: str,
    since: datetime,
    until: datetime,
    *,
    in_flight_since: datetime | None = None,
) -> Counter[str]:
    """The company's outgoing e-mails from ``@address_domain`` created in the window that left
    (sent, delivered, bounced or complained: ``sent``), how many of them drew a complaint
    (``complained``), how many were bulk (tracking alerts and manual sends: ``bulk``) and how
    many of those carried a one-click unsubscribe (``bulk:one_click``).

    The ``sent`` group has no ``by-status`` entries (issue 14), so the e-mails that left are the
    window's outgoing e-mails in ``by-channel`` less those still in the ``not_sent`` group: three
    Queries of what the window holds (``by-channel``, then the ``not_sent`` and ``bounced`` groups
    of ``by-status``), reading the few attributes they project. A message that changes group
    between the Queries is counted where the later Query finds it.
    Only the bounced group's items (few) and bulk e-mails written before the index carried
    ``one_click_unsubscribe`` are read whole, and the e-mails created since ``in_flight_since``
    (a few minutes: a message an outbox worker is sending has no ``not_sent`` entry either, until
    its lease ends), to leave out those still queued."""
    created = id_range(since, until)
    assert created is not None
    window = CommunicationModel.communication_id.between(*created)
    from_domain = CommunicationModel.from_address.contains(f"@{address_domain}") & (
        CommunicationModel.direction == "out"
    )

    def entries_in(index: Any, key: str) -> list[CommunicationModel]:
        return [
            entry
            for entry in index.query(key, window, filter_condition=from_domain)
            if (entry.from_address or "").lower().endswith(f"@{address_domain}")
        ]

    outgoing = entries_in(CommunicationModel.by_channel, f"{company_id}#email")
    not_sent = {
        e.communication_id for e in entries_in(CommunicationModel.by_status, f"{company_id}#email#not_sent")
    }
    bounced = {
        e.communication_id for e in entries_in(CommunicationModel.by_status, f"{company_id}#email#bounced")
    }
    entries = [e for e in outgoing if e.communication_id not in not_sent]
    recent = id_range(in_flight_since, until) if in_flight_since is not None else None
    if recent is not None:
        fresh = [e.communication_id for e in entries if e.communication_id >= recent[0]]
        waiting = {cid for cid, c in get_many(company_id, fresh).items() if c.state in ("queued", "sending")}
        entries = [e for e in entries if e.communication_id not in waiting]
    counts: Counter[str] = Counter()
    counts["sent"] = len(entries)
    bulk = [e for e in entries if e.kind == "manual" or e.message_type == "tracking_alert"]
    counts["bulk"] = len(bulk)
    counts["bulk:one_click"] = sum(1 for e in bulk if e.one_click_unsubscribe)
    unmarked = [e.communication_id for e in bulk if not e.one_click_unsubscribe]
    left_and_bounced = [e.communication_id for e in entries if e.communication_id in bounced]
    items = get_many(company_id, [*unmarked, *left_and_bounced]) if unmarked or left_and_bounced else {}
    counts["bulk:one_click"] += sum(
        1 for cid in unmarked if cid in items and carries_one_click(items[cid].headers)
    )
    counts["complained"] = sum(
        1 for cid in left_and_bounced if cid in items and items[cid].state == "complained"
    )
    return counts
