"""Request and response models of the webhook routes (docs/webhooks.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.people import NAME_FIELD
from chalicelib.api.schemas import ETAG_FIELD

#: The 503 a request answers when what it changed is recorded but its webhook event could not be
#: queued (documented on those routes; docs/webhooks.md).
NOT_ANNOUNCED = (
    "Recorded, but the company's webhook event could not be queued yet: ask again (Retry-After) and it "
    "is announced, under the same event id."
)
#: The 503 of cancelling the e-mails waiting for a sender account when the webhook queue refused
#: their ``message.failed`` events.
CANCEL_NOT_TOLD = (
    "Those told to the company's webhooks are cancelled; the others still wait, because their event "
    "could not be queued: cancel again (Retry-After) and they are cancelled and announced, under the "
    "same event ids."
)

EventType = Literal[
    "message.delivered",
    "message.bounced",
    "message.complained",
    "message.failed",
    "client.unsubscribed",
    "inbound.received",
    "ticket.created",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class WebhookIn(_Strict):
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="An `https://` URL on a public address (no user or password, no #fragment); "
        "checked when saved and at every delivery, redirects are not followed.",
    )
    events: list[EventType] = Field(min_length=1, max_length=20, description="The event types to send there.")


class WebhookChangeIn(WebhookIn):
    enabled: bool = Field(
        default=True, description="Off: nothing is sent. Turning it on forgets its failures."
    )


class WebhookOut(BaseModel):
    endpoint_id: str
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime
    created_by: str
    created_by_name: str | None = Field(default=None, description=NAME_FIELD)
    updated_at: datetime
    secret_set_at: datetime = Field(
        description="When the signing secret was made; the secret is never shown again."
    )
    previous_secret_until: datetime | None = Field(
        default=None,
        description="After a new secret is made, the one it replaced signs each delivery too (a second "
        "`v1=` in `Pregon-Signature`) until this time: 24 hours to give the receiver the new one.",
    )
    failing_since: datetime | None = Field(description="The first failed delivery since the last success.")
    disabled_at: datetime | None = Field(description="When Pregón turned it off after a day of failures.")
    disabled_reason: str | None
    etag: str = Field(description=ETAG_FIELD)


class WebhookWithSecretOut(WebhookOut):
    secret: str = Field(
        description="The signing secret (`whsec_...`), shown this once: keep it to check `Pregon-Signature`. "
        "After a rotation the old one signs too for 24 hours (`previous_secret_until`)."
    )


class WebhooksOut(BaseModel):
    items: list[WebhookOut]


class WebhookTestOut(BaseModel):
    event_id: str
    outcome: str = Field(description="`delivered`, `failed` or `refused` (the URL is not a public address).")
    status_code: int | None = Field(description="The endpoint's HTTP status; none when it did not answer.")
    error: str | None = Field(description="Why it failed, never the endpoint's answer itself.")


class WebhookDeliveryOut(BaseModel):
    event_id: str
    event_type: str
    attempt: int
    attempted_at: datetime
    status_code: int | None
    outcome: str = Field(
        description="`delivered`; `retrying` (tried again later); `failed` (not retried: 3xx or 4xx but "
        "408/429); `gave-up` (its day of retries is over); `refused` (not a public address); `held` (not "
        "posted: the company was suspended; queued again when it is reopened) and then `released`."
    )
    error: str | None = Field(
        description="Why it failed, in Pregón's words (never the endpoint's answer). Staff below level 1, "
        "who may not read the endpoint's URL, read it without the endpoint's host, port or address."
    )


class WebhookDeliveriesPageOut(BaseModel):
    items: list[WebhookDeliveryOut]
    next_cursor: str | None
