"""Request and response models of the SMS auto-reply routes (I1, I2)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.api.people import NAME_FIELD
from chalicelib.api.schemas import ETAG_FIELD

Keywords = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
SmsTemplate = Annotated[str, StringConstraints(strip_whitespace=True, max_length=480)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BalanceAutoReplyIn(_Strict):
    enabled: bool | None = Field(default=None, description="The balance auto-reply on or off.")
    keywords: Keywords | None = Field(
        default=None,
        description="Comma-separated; case- and accent-insensitive whole words, e.g. `deuda, saldo`.",
    )
    template: SmsTemplate | None = Field(
        default=None, description="Variables: %nombre%, %deuda%, %empresa%, %cliente%."
    )


class TicketAutoReplyIn(_Strict):
    enabled: bool | None = Field(default=None, description="The ticket auto-reply on or off.")
    keywords: Keywords | None = Field(
        default=None, description="Comma-separated, e.g. `soporte, reclamo, servicio`."
    )
    operator: Label | None = Field(default=None, description="The operator new tickets are assigned to.")
    category: Label | None = Field(default=None, description="The category new tickets get.")
    max_per_day: int | None = Field(
        default=None, ge=1, le=50, description="Tickets a client may open per day."
    )
    template: SmsTemplate | None = Field(
        default=None, description="Variables: %nombre%, %id%, %operador%, %categoria%, %empresa%, %cliente%."
    )
    limit_template: SmsTemplate | None = Field(
        default=None,
        description="The polite refusal past the day's maximum. "
        "Variables: %nombre%, %maximo%, %empresa%, %cliente%.",
    )


class AutoRepliesIn(_Strict):
    """A merge: rules and fields left out keep their value."""

    balance: BalanceAutoReplyIn | None = None
    ticket: TicketAutoReplyIn | None = None


class BalanceAutoReplyOut(BaseModel):
    enabled: bool
    keywords: str
    template: str


class TicketAutoReplyOut(BaseModel):
    enabled: bool
    keywords: str
    operator: str | None
    category: str | None
    max_per_day: int
    template: str
    limit_template: str


class AutoRepliesOut(BaseModel):
    balance: BalanceAutoReplyOut
    ticket: TicketAutoReplyOut
    updated_at: datetime | None
    updated_by: str | None
    updated_by_name: str | None = Field(default=None, description=NAME_FIELD)
    etag: str = Field(description=ETAG_FIELD)
