"""Messages in the history: e-mails queued through the real outbox, exports as spreadsheets."""

from __future__ import annotations

from typing import Any

from tests.steps.tenants import Tenant

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def send_email(
    tenant: Tenant,
    to: str,
    subject: str,
    *,
    client_id: str | None = None,
    kind: str = "automatic",
    area: str = "tracking",
    created_by: str | None = None,
    attachments: tuple[Any, ...] = (),
) -> str:
    """Queue one e-mail through the real outbox; returns its communication id."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    [comm] = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address=to,
                subject=subject,
                text=f"Texto de {subject}",
                html=f"<p>Texto de {subject}</p>",
                client_id=client_id,
                kind=kind,
                area=area,
                created_by=created_by,
                attachments=attachments,
            )
        ],
    )
    return comm.communication_id


def queue_emails(
    tenant: Tenant, subjects: list[str], *, kind: str = "automatic", text: str = ""
) -> list[str]:
    """Queue one e-mail per subject through the real outbox, in one call (created in that order),
    for a drain (not handed to a worker by id, so each is listed under "not sent" until it is
    sent); returns their communication ids."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    queued = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address=f"cliente{n}@example.com",
                subject=subject,
                text=text or f"Texto de {subject}",
                html=f"<p>{text or subject}</p>",
                kind=kind,
                area="tracking",
            )
            for n, subject in enumerate(subjects)
        ],
        handoff=False,
    )
    return [comm.communication_id for comm in queued]


STATUS_FILTERS = ("sent", "not_sent", "bounced", "received")


def listed(api: Any, headers: dict[str, str], query: str = "", channel: str = "email") -> list[str]:
    """Every subject (or, without one, recipient) a channel's history lists for ``query``, newest first,
    following its cursors page by page."""
    import json

    shown: list[str] = []
    cursor = ""
    for _ in range(100):
        params = "&".join(part for part in (query, cursor) if part)
        response = api.http.get(f"/history/{channel}?{params}", headers=headers)
        assert response.status_code == 200, response.body
        page = json.loads(response.body)
        shown += [item["subject"] or item["to_address"] for item in page["items"]]
        if not page["next_cursor"]:
            return shown
        cursor = f"cursor={page['next_cursor']}"
    raise AssertionError("the cursor does not move on")


def by_status_filter(api: Any, tenant: Tenant, channel: str = "email") -> dict[str, list[str]]:
    """What staff see under each status filter of a channel's history."""
    return {
        group: listed(api, tenant.staff_headers(), f"status={group}", channel) for group in STATUS_FILTERS
    }


def status_key_of(tenant: Tenant, communication_id: str) -> str | None:
    """The message's ``by-status`` key as DynamoDB holds the item (None: it has no entry there)."""
    from chalicelib.store.models import CommunicationModel

    item = CommunicationModel.get(tenant.company_id, communication_id, consistent_read=True)
    return item.status_key


def register_tables(api: Any, tenant: Tenant) -> None:
    """The company's administrator adds two motives and two areas to the register's tables."""
    import json

    for table, code, name in [
        ("motives", "cobro", "Cobro de honorarios"),
        ("motives", "consulta", "Consulta fiscal"),
        ("areas", "fiscal", "Área fiscal"),
        ("areas", "laboral", "Área laboral"),
    ]:
        answer = api.http.post(
            f"/register/{table}",
            headers=tenant.admin_headers(),
            body=json.dumps({"code": code, "name": name}),
        )
        assert answer.status_code == 201, answer.body


def add_register_record(api: Any, headers: dict[str, str], client_id: str, **fields: Any) -> Any:
    """Staff note a record by hand in the client's register; returns the record."""
    import json

    answer = api.http.post(f"/clients/{client_id}/register", headers=headers, body=json.dumps(fields))
    assert answer.status_code == 201, answer.body
    return json.loads(answer.body)


def register_items(api: Any, headers: dict[str, str], client_id: str) -> list[Any]:
    """The client's register as ``headers`` see it, newest first (its first page)."""
    import json

    answer = api.http.get(f"/clients/{client_id}/register", headers=headers)
    assert answer.status_code == 200, answer.body
    return list(json.loads(answer.body)["items"])


def set_company_zone(api: Any, tenant: Tenant, time_zone: str, locale: str) -> None:
    """The company's administrator sets where the company is (PATCH /company)."""
    import json

    answer = api.http.patch(
        "/company",
        headers=tenant.admin_headers(),
        body=json.dumps({"time_zone": time_zone, "locale": locale}),
    )
    assert answer.status_code == 200, answer.body
