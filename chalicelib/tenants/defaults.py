"""What a new company starts with: a carrier's usual status catalog and its alert types."""

from __future__ import annotations

from chalicelib.core.domain import StatusDefinition

VISIBILITIES = ("hidden", "visible", "with_reason", "with_observations")
ALERT_TYPES = ("tracking", "reminders")
# Alert types that run once a day at an hour of the company's clock, not every N minutes.
DAILY_ALERT_TYPES = ("reminders",)
DEFAULT_HOUR = 8  # a daily alert type runs at 8:00 of the company's clock until told otherwise

DEFAULT_STATUS_CATALOG: tuple[StatusDefinition, ...] = (
    StatusDefinition("ISSUED", "Guía emitida", "visible", False),
    StatusDefinition("PICKED_UP", "Retirado en origen", "visible", True),
    StatusDefinition("IN_TRANSIT", "En viaje", "visible", True),
    StatusDefinition("RECEIVED_AT_DESTINATION", "Recibido en Destino", "visible", True),
    StatusDefinition("OUT_FOR_DELIVERY", "En distribución", "visible", True),
    StatusDefinition("DELIVERED", "Entregado", "with_observations", True),
    StatusDefinition("DELIVERY_FAILED", "Visita sin entrega", "with_reason", True),
    StatusDefinition("RETURNED", "Devuelto al remitente", "with_reason", True),
    StatusDefinition("INTERNAL_TRANSFER", "Transferencia interna", "hidden", False),
)
