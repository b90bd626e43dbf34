"""The back office's client register: what its system sends to ``PUT /clients/{id}``."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from tests.steps.tenants import Tenant


def client_answer(api: Client, by: Tenant | dict[str, str], client_id: str, data: dict[str, Any]) -> Any:
    """The back office sends exactly ``data`` for one client (with the tenant's API key, or with
    the given headers); the API's answer, whatever it is."""
    headers = by.key_headers() if isinstance(by, Tenant) else by
    return api.http.put(f"/clients/{client_id}", headers=headers, body=json.dumps(data))


def put_client(api: Client, by: Tenant | dict[str, str], client_id: str, **fields: Any) -> None:
    """The back office stores a client: named ``Cliente <id>`` with the address
    ``<id>@example.com`` (lower case) unless ``fields`` say otherwise."""
    data = {"name": f"Cliente {client_id}", "emails": [f"{client_id.lower()}@example.com"]} | fields
    response = client_answer(api, by, client_id, data)
    assert response.status_code == 200, response.body


def remove_client(tenant: Tenant, client_id: str) -> None:
    """The client's item is deleted from the clients' table behind Pregón's back (Pregón has no
    delete; an operator's clean-up or a restore does it)."""
    from chalicelib.core.aws import client
    from chalicelib.store.models import ClientModel

    client("dynamodb").delete_item(
        TableName=ClientModel.Meta.table_name,
        Key={"company_id": {"S": tenant.company_id}, "client_id": {"S": client_id}},
    )


def saved_meanwhile(monkeypatch: Any, tenant: Tenant, client_id: str, times: int, **data: Any) -> list[int]:
    """The company's system saves ``client_id`` (as ``data`` says: ``name``, ``phones`` ...)
    just before each of the next ``times`` transactions of a client's save: the save being made
    loses its race to it. Returns the count of saves made meanwhile, as they happen."""
    from chalicelib.store import clients as store
    from chalicelib.tenants.clients import save_client

    real = store.transacted
    made: list[int] = []

    def racing(build: Any) -> bool:
        if len(made) < times and not getattr(racing, "busy", False):
            made.append(1)
            racing.busy = True  # type: ignore[attr-defined]
            try:
                save_client(
                    tenant.company_id,
                    client_id,
                    name=data.get("name", f"Cliente {client_id}"),
                    emails=list(data.get("emails", [])),
                    phones=list(data.get("phones", [])),
                    contacts=[],
                    message_switches={},
                    preferred_agent=None,
                    collection_agent=None,
                )
            finally:
                racing.busy = False  # type: ignore[attr-defined]
        return real(build)

    monkeypatch.setattr(store, "transacted", racing)
    return made
