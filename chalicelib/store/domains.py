"""Companies' SES sending domains (issue 10, point 7)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

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
    )


def claim_domain(entry: records.SenderDomain) -> bool:
    """Write the company's domain; False when another company has it already (nothing written).
    The company registering its own domain again overwrites it (new tokens, same owner)."""
    item = SenderDomainModel(
        entry.domain,
        company_id=entry.company_id,
        mail_from_domain=entry.mail_from_domain,
        dkim_tokens=list(entry.dkim_tokens),
        created_at=entry.created_at,
        created_by=entry.created_by,
    )
    return written(
        lambda: item.save(
            condition=SenderDomainModel.domain.does_not_exist()
            | (SenderDomainModel.company_id == entry.company_id)
        )
    )


def get_domain(name: str) -> records.SenderDomain | None:
    try:
        return _domain(SenderDomainModel.get(name))
    except DoesNotExist:
        return None


def owner_of(name: str) -> str | None:
    found = get_domain(name)
    return found.company_id if found else None


def list_domains(company_id: str) -> list[records.SenderDomain]:
    return [_domain(item) for item in SenderDomainModel.by_company.query(company_id)]


def email_outcomes_from(
    company_id: str, address_domain: str, since: datetime, until: datetime
) -> Counter[str]:
    """The company's outgoing e-mails from ``@address_domain`` created in the window that left
    (sent, delivered, bounced or complained: ``sent``), how many of them drew a complaint
    (``complained``), how many were bulk (tracking alerts and manual sends: ``bulk``) and how
    many of those carried a one-click unsubscribe (``bulk:one_click``).

    Two Queries of the lean ``by-status`` index (the ``sent`` and ``bounced`` groups), reading
    the few attributes it projects; only the bounced group's items (few) and bulk e-mails written
    before the index carried ``one_click_unsubscribe`` are read whole."""
    window = id_range(since, until)
    assert window is not None
    counts: Counter[str] = Counter()
    for group in ("sent", "bounced"):
        entries = [
            entry
            for entry in CommunicationModel.by_status.query(
                f"{company_id}#email#{group}",
                CommunicationModel.communication_id.between(*window),
                filter_condition=CommunicationModel.from_address.contains(f"@{address_domain}")
                & (CommunicationModel.direction == "out"),
            )
            if (entry.from_address or "").lower().endswith(f"@{address_domain}")
        ]
        counts["sent"] += len(entries)
        bulk = [e for e in entries if e.kind == "manual" or e.message_type == "tracking_alert"]
        counts["bulk"] += len(bulk)
        counts["bulk:one_click"] += sum(1 for e in bulk if e.one_click_unsubscribe)
        unmarked = [e.communication_id for e in bulk if not e.one_click_unsubscribe]
        read = [e.communication_id for e in entries] if group == "bounced" else unmarked
        items = get_many(company_id, read) if read else {}
        counts["bulk:one_click"] += sum(
            1 for cid in unmarked if cid in items and carries_one_click(items[cid].headers)
        )
        counts["complained"] += sum(1 for comm in items.values() if comm.state == "complained")
    return counts
