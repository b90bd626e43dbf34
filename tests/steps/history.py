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
    """Queue one e-mail per subject through the real outbox, in one call (created in that order);
    returns their communication ids."""
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
    )
    return [comm.communication_id for comm in queued]
