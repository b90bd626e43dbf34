"""Push (C7) steps: the company's SNS platform application (moto) and a client's device."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalice.test import Client

from tests.steps.tenants import Tenant


def sns() -> Any:
    from chalicelib.core.aws import client

    return client("sns")


def push_platform_application(company_id: str, platform: str = "GCM", name: str | None = None) -> str:
    """A platform application in moto's SNS, as the operator creates it for a company (named
    ``<company id>_<label>``)."""
    answer = sns().create_platform_application(
        Name=name or f"{company_id}_app-{uuid.uuid4().hex[:8]}",
        Platform=platform,
        Attributes={"PlatformCredential": "firebase-server-key"},
    )
    return str(answer["PlatformApplicationArn"])


def set_push(api: Client, tenant: Tenant, **arns: str | None) -> Any:
    return api.http.put("/push/settings", headers=tenant.admin_headers(), body=json.dumps(arns))


def register_device(api: Client, tenant: Tenant, client_id: str, token: str, platform: str = "fcm") -> Any:
    return api.http.post(
        f"/clients/{client_id}/devices",
        headers=tenant.key_headers(),
        body=json.dumps({"platform": platform, "token": token}),
    )
