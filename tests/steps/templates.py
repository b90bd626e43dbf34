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


# A company's own notice with its logo (when it has one) and a line of text: its HTML is far under
# the 3,200 characters SpamAssassin's HTML_IMAGE_ONLY_* rules score an image in (a save warns).
LOGO_IMG = (
    '{% if company.logo_url %}<img src="{{ company.logo_url }}" alt="{{ company.name }}" width="240" '
    'height="48">{% endif %}'
)
SHORT_WITH_LOGO = {
    "subject": "Novedades de {{ company.name }}",
    "text": "Hola {{ client.name }}: abrimos una sucursal nueva en Córdoba.",
    "html": f"{LOGO_IMG}<p>Hola {{{{ client.name }}}}: abrimos una sucursal nueva en Córdoba.</p>",
}
BRANCHES = (
    ("Córdoba Centro", "San Martín 56"),
    ("Nueva Córdoba", "Obispo Trejo 1021"),
    ("Villa Carlos Paz", "San Martín 1450"),
    ("Río Cuarto", "Constitución 890"),
    ("Villa María", "Buenos Aires 1230"),
    ("San Francisco", "Bv. 25 de Mayo 1750"),
    ("Alta Gracia", "Belgrano 310"),
    ("Jesús María", "Tucumán 455"),
    ("Rosario Centro", "Córdoba 1452"),
    ("Rosario Norte", "Alberdi 820"),
    ("Santa Fe", "San Jerónimo 2560"),
    ("Rafaela", "Bv. Santa Fe 330"),
    ("Mendoza", "Av. San Martín 1200"),
    ("San Juan", "Av. Libertador 455"),
)
# The same notice, followed by every branch's address and hours: a whole e-mail's worth of text.
LONG_WITH_LOGO = {
    **SHORT_WITH_LOGO,
    "html": SHORT_WITH_LOGO["html"]
    + "<p>Estas son nuestras sucursales y sus horarios de atención al público:</p><table>"
    + "".join(
        f"<tr><td>Sucursal {name}</td><td>{street}</td><td>lunes a viernes de 9 a 18 h, "
        "sábados de 9 a 13 h; entregas y retiros hasta media hora antes del cierre; consultas por "
        "teléfono o respondiendo este correo</td></tr>"
        for name, street in BRANCHES
    )
    + "</table><p>Gracias por elegirnos.</p>",
}
