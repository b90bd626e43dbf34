"""Whether the Cognito user pool lets a signed-in user change the claims Pregón trusts.

Pregón reads a staff user's company and level (and branch and department) from the ID token's
custom attributes (``chalicelib/tenants/auth/tokens.py``); a user first seen enters the company's
staff directory with them. Cognito lets a signed-in user change their own attributes
(``UpdateUserAttributes`` with their access token) when the app client may write them, and an app
client made without a list of write attributes (the console ticks them all) may. A clerk who
writes ``custom:company_id`` is then a new user of another company, at the level they wrote.
``python -m infrastructure.ops --target aws identity check <user pool id> <client id>`` says
whether that is so (docs/web.md, "Signing in on AWS").
"""

from __future__ import annotations

from typing import Any

#: The attributes Pregón trusts: only an administrator may set them (AdminUpdateUserAttributes).
TRUSTED_ATTRIBUTES = ("custom:company_id", "custom:level", "custom:branch", "custom:department")


def writable_trusted_attributes(user_pool_id: str, client_id: str) -> list[str]:
    """The trusted attributes a user signed in through ``client_id`` may change on themselves: the
    ones the pool defines as mutable that the client's write attributes hold (all of them when the
    client names none)."""
    from chalicelib.core.aws import client

    idp: Any = client("cognito-idp")
    schema = idp.describe_user_pool(UserPoolId=user_pool_id)["UserPool"].get("SchemaAttributes", [])
    mutable = {a["Name"] for a in schema if a.get("Mutable", True)}
    app = idp.describe_user_pool_client(UserPoolId=user_pool_id, ClientId=client_id)["UserPoolClient"]
    written = set(app.get("WriteAttributes") or mutable)
    return [name for name in TRUSTED_ATTRIBUTES if name in mutable and name in written]
