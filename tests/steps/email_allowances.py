"""A company's e-mails through Pregón's own SES (its "ses" sender accounts): an area that sends
there, invoices queued in it, and what SES (moto) was handed."""

from __future__ import annotations

import json

from chalice.test import Client

from chalicelib.core.domain import Communication
from tests.steps.domains import notices_by_recipient, verified_sending_domain
from tests.steps.tenants import Tenant


def invoices_through_ses(api: Client, tenant: Tenant) -> str:
    """The company's invoices area sends through Pregón's SES, from a domain SES verified."""
    domain = verified_sending_domain(tenant.company_id, f"{tenant.company_id}.ses.example")
    account = {
        "kind": "ses",
        "display_name": "Facturas",
        "from_address": f"facturas@{domain}",
        "ses_identity": domain,
    }
    saved = api.http.put(
        "/sender-accounts/invoices", headers=tenant.admin_headers(), body=json.dumps(account)
    )
    assert saved.status_code == 200, saved.body
    return domain


def queue_mail(company_id: str, area: str, to: list[str]) -> list[Communication]:
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    return enqueue(
        company_id,
        [
            OutgoingMessage(
                channel="email", to_address=a, subject=f"Factura {n}", text="Hola", area=area, kind="manual"
            )
            for n, a in enumerate(to)
        ],
    )


def sent_to(local_aws: dict[str, str], to: list[str]) -> list[str]:
    """The addresses among ``to`` that SES (moto) was handed an e-mail for, each once at most."""
    received = notices_by_recipient(to)
    assert all(len(received[a]) <= 1 for a in to)
    return [a for a in to if received[a]]
