"""Request and response models of the suppression list routes (Q5); re-exported by
``api.schemas`` so the OpenAPI generator finds them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.people import NAME_FIELD


class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    address: str = Field(
        min_length=1,
        max_length=254,
        description="An e-mail address (kept lower-cased) or a phone number (kept in E.164; a local "
        "number is read in the company's SMS region).",
    )
    reason: Literal["manual", "bounce", "complaint", "unsubscribe"] = Field(
        default="manual", description="Why no message may go there."
    )
    note: str | None = Field(
        default=None, max_length=500, description="Free text kept with the entry, e.g. 'asked by phone'."
    )


class SuppressionOut(BaseModel):
    address: str = Field(description="Lower-cased e-mail address or E.164 phone number.")
    reason: str = Field(description="bounce | complaint | manual | unsubscribe | stop ...")
    detail: str | None = Field(description="The bounce's diagnostic, the complaint type, or who added it.")
    communication_id: str | None = Field(description="The message whose bounce or complaint put it here.")
    created_at: datetime
    created_by: str | None = Field(
        default=None, description="The staff user who added it by hand; null for the rest."
    )
    created_by_name: str | None = Field(default=None, description=NAME_FIELD)


class SuppressionAddedOut(SuppressionOut):
    created: bool = Field(description="False when the address was already on the list (its entry is kept).")


class SuppressionsOut(BaseModel):
    items: list[SuppressionOut]
    next_cursor: str | None
