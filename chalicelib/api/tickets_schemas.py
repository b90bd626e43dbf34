"""Answers of the tickets clients opened by SMS (I2)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TicketOut(BaseModel):
    ticket_id: str = Field(
        description="The id the client was told in the SMS reply (`%id%`), e.g. `T-7QX2M4KD`."
    )
    client_id: str
    operator: str | None = Field(description="The operator the SMS auto-reply settings assign.")
    category: str | None = Field(description="The category the SMS auto-reply settings assign.")
    text: str = Field(description="What the client wrote.")
    source: str = Field(description="How it was opened: `sms`.")
    created_at: datetime
    communication_id: str | None = Field(description="The received SMS in the client's register.")


class TicketsPageOut(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None
