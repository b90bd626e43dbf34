"""Answers of the staff console's own routes (W2): how it signs staff in, and who is signed in."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ConsoleIdentityOut(BaseModel):
    kind: Literal["local", "cognito", "none"] = Field(
        description="`local`: the local stack's identity server (POST `{url}/token`); `cognito`: the "
        "user pool's hosted UI at `url` (authorization code with PKCE); `none`: no sign-in configured."
    )
    url: str | None
    client_id: str | None = Field(description="Cognito: the app client id (public; it has no secret).")


class ConsoleConfigOut(BaseModel):
    identity: ConsoleIdentityOut
    stage: str


class ConsoleUserOut(BaseModel):
    user_id: str
    name: str
    level: int
    company_id: str
    email: str | None = Field(
        default=None,
        description="The user's own address (the staff directory's, else the token's `email`): the From "
        "of their personal sender account (C5). Null when none is known.",
    )


class ConsoleScreenOut(BaseModel):
    id: str
    levels: list[int] = Field(description="The staff levels every route of the screen lets in.")
    allowed: bool = Field(description="Whether the signed-in user may open it.")


class ConsoleMeOut(BaseModel):
    user: ConsoleUserOut
    screens: list[ConsoleScreenOut]
