"""Request and response models of manual sends (C8) and push (C7); re-exported by
``api.schemas`` so the OpenAPI generator finds them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.api.people import NAME_FIELD
from chalicelib.api.schemas import ETAG_FIELD

ClientId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
RequestId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.:\-]{1,100}$")]
UserName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ClientFilterIn(_Strict):
    """Clients that match every condition given; an empty filter selects all the company's clients."""

    switch: (
        Literal["tracking", "invoice", "payment_email", "payment_sms", "ticket", "reminder", "statement"]
        | None
    ) = Field(default=None, description="Only clients with this message switch on.")
    preferred_agent: UserName | None = Field(default=None, description="Only this sales agent's clients.")
    collection_agent: UserName | None = Field(
        default=None, description="Only this collection agent's clients."
    )


class SendIn(_Strict):
    channel: Literal["email", "sms", "push"]
    template: str = Field(
        min_length=1, max_length=60, description="A message type (e.g. `invoice`) or `custom:<slug>`."
    )
    client_ids: list[ClientId] | None = Field(
        default=None, max_length=1000, description="The clients to send to (one: sent at once; more: a job)."
    )
    filter: ClientFilterIn | None = Field(
        default=None, description="Or: the clients this filter selects (a job)."
    )
    variables: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra template variables (the client's own are added per client; not `portal_link`, "
        "the client's own link Pregón signs: 422).",
    )
    bulk_password: str | None = Field(
        default=None,
        max_length=200,
        description="The company's bulk-send password: SMS to more than one client (C6).",
    )
    request_id: RequestId | None = Field(
        default=None,
        description="Your id for this request: sending it again answers the first send, not a new one.",
    )


class SendJobOut(BaseModel):
    job_id: str
    channel: str
    template_key: str
    state: Literal["expanding", "sending", "done"] = Field(
        description="expanding: recipients still being put in the outbox; sending: all are; done: none waits."
    )
    total: int = Field(description="Messages of the job, plus the clients skipped.")
    sent: int
    failed: int
    skipped: int = Field(description="Clients with no address for the channel (or suppressed addresses).")
    waiting: int = Field(description="total - sent - failed - skipped.")
    created_by: str
    created_by_name: str | None = Field(default=None, description=NAME_FIELD)
    created_at: datetime
    updated_at: datetime
    selection: dict[str, Any] = Field(description='`{"client_ids": <count>}` or `{"filter": {...}}`.')


class SentMessageOut(BaseModel):
    communication_id: str
    channel: str
    state: str
    client_id: str | None
    to_address: str | None
    subject: str | None


class SendOut(BaseModel):
    """A send to one client answers its message(s); a send to many answers the job."""

    job: SendJobOut | None = None
    messages: list[SentMessageOut] = Field(default_factory=list)


class SendJobsOut(BaseModel):
    items: list[SendJobOut]
    next_cursor: str | None = None


class PushSettingsIn(_Strict):
    fcm_application_arn: str | None = Field(
        default=None,
        max_length=400,
        description="SNS platform application for Android (FCM): arn:...:app/GCM/<name>.",
    )
    apns_application_arn: str | None = Field(
        default=None,
        max_length=400,
        description="SNS platform application for iOS: arn:...:app/APNS/<name> (or APNS_SANDBOX).",
    )


class PushSettingsOut(BaseModel):
    fcm_application_arn: str | None
    apns_application_arn: str | None
    updated_at: datetime | None = None
    updated_by: str | None = None
    updated_by_name: str | None = Field(default=None, description=NAME_FIELD)

    etag: str = Field(description=ETAG_FIELD)


class DeviceIn(_Strict):
    platform: Literal["fcm", "apns"]
    token: str = Field(min_length=1, max_length=4096, description="The app's device token for the platform.")


class DeviceOut(BaseModel):
    device_id: str
    client_id: str
    platform: str
    endpoint_arn: str
    created_at: datetime


class DevicesOut(BaseModel):
    items: list[DeviceOut]
