"""Message templates (``/templates``) as administrators save them and staff preview them."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from tests.steps.tenants import Tenant


def put(api: Client, tenant: Tenant, key: str, template: dict[str, Any], *, admin: bool = True) -> Any:
    headers = tenant.admin_headers() if admin else tenant.staff_headers()
    return api.http.put(f"/templates/{key}", headers=headers, body=json.dumps(template))


def get(api: Client, tenant: Tenant, key: str) -> Any:
    return api.http.get(f"/templates/{key}", headers=tenant.staff_headers())


def preview(api: Client, tenant: Tenant, key: str, edits: dict[str, Any] | None = None) -> Any:
    return api.http.post(
        f"/templates/{key}/preview", headers=tenant.staff_headers(), body=json.dumps(edits or {})
    )
