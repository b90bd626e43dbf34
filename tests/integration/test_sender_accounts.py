"""Which account sends (C1 areas with `all` as fallback, C5 personal accounts), as staff set them up."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.tenants import IDENTITY, SMTP_PASSWORD, SMTP_USER, Tenant


def smtp_account(mailbox: MailCatcher, sender: str, **extra: Any) -> str:
    return json.dumps(
        {
            "kind": "smtp",
            "display_name": sender.split("@")[0].title(),
            "from_address": sender,
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "encryption": "none",
            "username": SMTP_USER,
            **extra,
        }
    )


def set_up(
    api: Client, tenant: Tenant, path: str, mailbox: MailCatcher, sender: str, headers: Any = None
) -> None:
    headers = headers or tenant.admin_headers()
    assert api.http.put(path, headers=headers, body=smtp_account(mailbox, sender)).status_code == 200
    password = api.http.put(f"{path}/password", headers=headers, body=json.dumps({"password": SMTP_PASSWORD}))
    assert password.status_code == 204, password.body


def sender_of(tenant: Tenant, area: str, user: str | None = None) -> str | None:
    from chalicelib.messaging.accounts.email import account_for

    account = account_for(tenant.company_id, area, personal_user=user)
    return account.from_address if account else None


def test_an_area_without_its_own_account_falls_back_to_all(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given the company has a tracking account and an `all` account
    set_up(api, tenant, "/sender-accounts/all", mailbox, "hola@cargas.example")
    # Then tracking uses its own, invoices (no account) use `all`
    assert sender_of(tenant, "tracking") == "avisos@cargasdelsur.example"
    assert sender_of(tenant, "invoices") == "hola@cargas.example"
    # And when the tracking account is disabled, tracking falls back to `all` as well
    disabled = api.http.put(
        "/sender-accounts/tracking",
        headers=tenant.admin_headers(),
        body=smtp_account(mailbox, "avisos@cargasdelsur.example", enabled=False),
    )
    assert disabled.status_code == 200 and body(disabled)["working"] is False
    assert sender_of(tenant, "tracking") == "hola@cargas.example"


def test_a_personal_account_sends_for_its_user_and_falls_back_to_the_company(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a salesperson who sets up her own account
    marta = IDENTITY.mint(tenant.company_id, user_id="marta@cargas.example", level=3, department="ventas")
    marta_headers = {"Authorization": f"Bearer {marta}", "Content-Type": "application/json"}
    set_up(
        api,
        tenant,
        "/users/marta@cargas.example/sender-account",
        mailbox,
        "marta@cargas.example",
        marta_headers,
    )
    set_up(api, tenant, "/sender-accounts/all", mailbox, "hola@cargas.example")
    # Then her orders go out from her account, and another user's from the company's
    assert sender_of(tenant, "documents", user="marta@cargas.example") == "marta@cargas.example"
    assert sender_of(tenant, "documents", user="juan@cargas.example") == "hola@cargas.example"
    # And she sees her account without its password, but it is not listed among the company's areas
    mine = body(api.http.get("/users/marta@cargas.example/sender-account", headers=marta_headers))
    assert mine["password_set"] is True and "password" not in mine
    areas = [
        a["area"] for a in body(api.http.get("/sender-accounts", headers=tenant.admin_headers()))["items"]
    ]
    assert areas == ["all", "tracking"]
    # When she removes it, her messages fall back to the company's account
    assert (
        api.http.delete("/users/marta@cargas.example/sender-account", headers=marta_headers).status_code
        == 200
    )
    assert sender_of(tenant, "documents", user="marta@cargas.example") == "hola@cargas.example"


def test_pointing_a_personal_account_elsewhere_removes_its_password(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a salesperson's own working account, with its password
    marta = IDENTITY.mint(tenant.company_id, user_id="marta@cargas.example", level=3)
    headers = {"Authorization": f"Bearer {marta}", "Content-Type": "application/json"}
    path = "/users/marta@cargas.example/sender-account"
    set_up(api, tenant, path, mailbox, "marta@cargas.example", headers)
    assert sender_of(tenant, "documents", user="marta@cargas.example") == "marta@cargas.example"
    # When she (or anyone who can) changes its host to another server
    moved = api.http.put(
        path, headers=headers, body=smtp_account(mailbox, "marta@cargas.example", smtp_host="localhost")
    )
    # Then the password is gone and her messages no longer go out from it (they fall back)
    assert moved.status_code == 200 and body(moved)["password_set"] is False
    assert body(api.http.get(path, headers=headers))["working"] is False
    assert sender_of(tenant, "documents", user="marta@cargas.example") is None


def test_only_the_user_or_an_administrator_manages_a_personal_account(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    juan = IDENTITY.mint(tenant.company_id, user_id="juan@cargas.example", level=2)
    juan_headers = {"Authorization": f"Bearer {juan}", "Content-Type": "application/json"}
    path = "/users/marta@cargas.example/sender-account"
    # Another user, and the company's systems, are refused
    assert (
        api.http.put(path, headers=juan_headers, body=smtp_account(mailbox, "x@y.example")).status_code == 403
    )
    assert (
        api.http.put(
            path, headers=tenant.key_headers(), body=smtp_account(mailbox, "x@y.example")
        ).status_code
        == 403
    )
    # The administrator may set it up for her
    assert (
        api.http.put(
            path, headers=tenant.admin_headers(), body=smtp_account(mailbox, "marta@y.example")
        ).status_code
        == 200
    )
    # Nothing of it is visible to another company's administrator
    from tests.steps.tenants import make_tenant

    other = make_tenant(None, name="Otra")
    assert api.http.get(path, headers=other.admin_headers()).status_code == 404


# --- a personal account speaks as its owner (C5) ------------------------------------------------

LUCIA = "u-lucia"  # an identity provider's subject, not an address: her address is her token's `email`
LUCIA_PATH = f"/users/{LUCIA}/sender-account"


def lucia_headers(tenant: Tenant, level: int = 4, language: str | None = None) -> dict[str, str]:
    """Lucía, a clerk who is not an administrator: level 4 (sees only her own records) unless told."""
    token = IDENTITY.mint(tenant.company_id, user_id=LUCIA, level=level, email="lucia@cargasdelsur.example")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return headers | ({"Accept-Language": language} if language else {})


def a_client_writes_in(api: Client, tenant: Tenant) -> str:
    """Ana, a client, writes to the company; the id of her e-mail's record in the register."""
    from tests.steps.clients import put_client
    from tests.steps.inbound import receive_mail
    from tests.steps.mailboxes import register_seen

    put_client(api, tenant, "CLI-9", name="Ana García", emails=["ana@example.com"])
    receive_mail(api, tenant.company_id, "ana@example.com", "Duda con la factura", "¿Y el recargo?")
    [received] = register_seen(api, tenant.admin_headers(), "CLI-9")
    return str(received["communication_id"])


def reply(api: Client, headers: dict[str, str], record_id: str) -> dict[str, Any]:
    answer = api.http.post(
        f"/clients/CLI-9/register/{record_id}/reply",
        headers=headers,
        body=json.dumps({"text": "Es por pago fuera de término."}).encode(),
    )
    assert answer.status_code == 201, answer.body
    return dict(body(answer))


def test_a_junior_may_not_send_as_another_address_of_the_company(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a level-4 clerk whose token says she is lucia@cargasdelsur.example
    # When she sets up her own account to speak as the management's mailbox
    as_manager = api.http.put(
        LUCIA_PATH, headers=lucia_headers(tenant), body=smtp_account(mailbox, "gerencia@cargasdelsur.example")
    )
    # Then she is refused on the From, told whose address it must be, and nothing is saved
    assert as_manager.status_code == 422, as_manager.body
    [error] = body(as_manager)["errors"]
    assert error["field"] == "from_address"
    assert "own address (lucia@cargasdelsur.example)" in error["message"]
    assert api.http.get(LUCIA_PATH, headers=lucia_headers(tenant)).status_code == 404
    # And in Spanish when she asks for it
    spanish = api.http.put(
        LUCIA_PATH,
        headers=lucia_headers(tenant, language="es"),
        body=smtp_account(mailbox, "sofia@cargasdelsur.example"),
    )
    assert spanish.status_code == 422
    assert body(spanish)["errors"] == [
        {
            "field": "from_address",
            "message": "debe ser la dirección propia del usuario (lucia@cargasdelsur.example); "
            "solo un administrador puede indicar otra",
        }
    ]
    # When she sets it up with her own address (whatever its case)
    own = api.http.put(
        LUCIA_PATH, headers=lucia_headers(tenant), body=smtp_account(mailbox, "Lucia@CargasDelSur.example")
    )
    # Then it is saved
    assert own.status_code == 200, own.body
    assert body(own)["from_address"].lower() == "lucia@cargasdelsur.example"


def test_her_reply_from_the_register_goes_out_from_her_own_address(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from tests.steps.mail import header_fields
    from tests.steps.outbox import deliver_outboxes

    # Given the clerk's own working account, and a client's e-mail in the register (level 3: a
    # level-4 user sees only the records she made herself)
    set_up(api, tenant, LUCIA_PATH, mailbox, "lucia@cargasdelsur.example", lucia_headers(tenant, 3))
    record_id = a_client_writes_in(api, tenant)
    # When she answers it
    reply(api, lucia_headers(tenant, 3), record_id)
    assert deliver_outboxes()["sent"] == 1
    # Then the server got it from her address, in the From field on the wire
    [path] = mailbox.files()
    [from_field] = header_fields(path.read_bytes(), "From")
    assert b"<lucia@cargasdelsur.example>" in from_field


def test_an_administrator_may_let_a_user_speak_as_a_shared_mailbox(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from tests.steps.mail import header_fields
    from tests.steps.outbox import deliver_outboxes

    # Given the clerk (level 3) is known to the company: she signed in once
    lucia = lucia_headers(tenant, 3)
    assert api.http.get("/staff/me", headers=lucia).status_code == 200
    # When an administrator sets up her account to speak as the sales mailbox
    set_up(api, tenant, LUCIA_PATH, mailbox, "ventas@cargasdelsur.example")
    # Then she may keep it as she changes the rest of it
    kept = api.http.put(
        LUCIA_PATH,
        headers=lucia,
        body=smtp_account(mailbox, "ventas@cargasdelsur.example", display_name="Ventas"),
    )
    assert kept.status_code == 200, kept.body
    # And the account says which administrator allowed that From, to her and to administrators
    allowed_by = body(kept)["from_allowed_by"]
    assert allowed_by and allowed_by != LUCIA
    shown = api.http.get(LUCIA_PATH, headers=tenant.admin_headers())
    assert body(shown)["from_allowed_by"] == allowed_by
    # And her reply goes out as the sales mailbox
    reply(api, lucia, a_client_writes_in(api, tenant))
    assert deliver_outboxes()["sent"] == 1
    [path] = mailbox.files()
    [from_field] = header_fields(path.read_bytes(), "From")
    assert b"<ventas@cargasdelsur.example>" in from_field
    # But she may not move it to yet another address herself
    moved = api.http.put(
        LUCIA_PATH, headers=lucia, body=smtp_account(mailbox, "gerencia@cargasdelsur.example")
    )
    assert moved.status_code == 422 and body(moved)["errors"][0]["field"] == "from_address"
    # And once she is a level-4 user she reads that administrator by handle: the user id is nowhere
    from chalicelib.tenants.staff import UserFields, colleague_handle, save_user

    save_user(tenant.company_id, LUCIA, UserFields(level=4))
    own = api.http.get(LUCIA_PATH, headers=lucia)
    assert body(own)["from_allowed_by"] == colleague_handle(tenant.company_id, allowed_by)
    assert allowed_by not in own.body.decode()


def test_an_account_that_no_longer_speaks_as_its_owner_fails_its_messages_with_the_reason(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from tests.steps.mailboxes import record_of
    from tests.steps.outbox import deliver_outboxes

    # Given the clerk's (level 3) own working account, and her reply to a client waiting to go out
    lucia = lucia_headers(tenant, 3)
    set_up(api, tenant, LUCIA_PATH, mailbox, "lucia@cargasdelsur.example", lucia)
    record_id = a_client_writes_in(api, tenant)
    waiting = reply(api, lucia, record_id)
    # When an administrator changes her address in the staff directory before it goes
    changed = api.http.put(
        f"/staff/users/{LUCIA}",
        headers=tenant.admin_headers(),
        body=json.dumps({"email": "lucia.perez@cargasdelsur.example"}),
    )
    assert changed.status_code == 200, changed.body
    # And she answers the client once more
    later = reply(api, lucia, record_id)
    deliver_outboxes()
    # Then nothing went out as her old address: both replies are failed, saying why
    assert mailbox.files() == []
    for answer in (waiting, later):
        failed = body(record_of(api, lucia, "CLI-9", answer["communication_id"]))
        assert failed["state"] == "failed", failed
        assert "not as the user's own address lucia.perez@cargasdelsur.example" in failed["error"]
    # And a test send from the account is refused on its From
    test = api.http.post(f"{LUCIA_PATH}/test", headers=lucia, body=b'{"to": "x@example.com"}')
    assert test.status_code == 422 and body(test)["errors"][0]["field"] == "from_address"
    # Until she saves it again with her new address
    set_up(api, tenant, LUCIA_PATH, mailbox, "lucia.perez@cargasdelsur.example", lucia)
    reply(api, lucia, record_id)
    assert deliver_outboxes()["sent"] == 1


def test_an_unverified_address_in_the_token_is_not_the_users_own(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a clerk whose identity provider has not verified the address in her token
    token = IDENTITY.mint(
        tenant.company_id,
        user_id="u-pablo",
        level=4,
        email="gerencia@cargasdelsur.example",
        email_verified=False,
    )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    # When she sets up her own account with that address
    saved = api.http.put(
        "/users/u-pablo/sender-account",
        headers=headers,
        body=smtp_account(mailbox, "gerencia@cargasdelsur.example"),
    )
    # Then she is refused on the From: no address of her own is known
    assert saved.status_code == 422, saved.body
    [error] = body(saved)["errors"]
    assert error["field"] == "from_address" and "the staff directory has none" in error["message"]


def test_a_personal_account_is_kept_only_under_an_id_the_staff_directory_would_take(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a user id of 71 characters, which the staff directory refuses
    long_id = "u" * 71
    refused_by_directory = api.http.put(
        f"/staff/users/{long_id}", headers=tenant.admin_headers(), body=json.dumps({"level": 4})
    )
    assert refused_by_directory.status_code == 422
    # When the administrator sets up a personal sender account under it
    answer = api.http.put(
        f"/users/{long_id}/sender-account",
        headers=tenant.admin_headers(),
        body=smtp_account(mailbox, "nadie@cargas.example"),
    )
    # Then it is refused the same way, naming user_id, and no account exists under it
    assert answer.status_code == 422, answer.body
    assert body(answer)["errors"] == body(refused_by_directory)["errors"]
    assert body(answer)["errors"][0]["field"] == "user_id"
    assert api.http.get(f"/users/{long_id}/sender-account", headers=tenant.admin_headers()).status_code == 404


def test_saving_an_account_answers_with_what_it_wrote_not_with_a_read_after_it(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from tests.steps.aws import dynamodb_requests_by_table

    # Given the company's tracking account, its password set
    # When an administrator gives it another From
    with dynamodb_requests_by_table() as sent:
        saved = api.http.put(
            "/sender-accounts/tracking",
            headers=tenant.admin_headers(),
            body=smtp_account(mailbox, "envios@cargasdelsur.example"),
        )
    # Then the answer is the account as written: the new From, the password kept, still working
    assert saved.status_code == 200, saved.body
    answer = body(saved)
    assert answer["from_address"] == "envios@cargasdelsur.example"
    assert answer["password_set"] is True and answer["working"] is True
    # And it is the write's own answer: the accounts are read before it (what it changes) and for
    # what waits in the area's outbox, not again to answer (a read right after a write, which on
    # DynamoDB, eventually consistent, might not see it yet)
    assert sent["UpdateItem sender-accounts"] == 1
    assert sent["BatchGetItem sender-accounts"] == 2, sent
