"""Issue 14: an e-mail's item leaves out the headers and Reply-To it can make again (a manual
send's List-Unsubscribe, our own References entry, the plus-addressed Reply-To); whatever it
read back, sent or shown, is what the message had, and any other header is kept as it was."""

from __future__ import annotations

from typing import Any

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.outbox import deliver_outboxes, queue_email
from tests.steps.tenants import Tenant


def stored(tenant: Tenant, communication_id: str) -> dict[str, Any]:
    import boto3

    from chalicelib.store.models import CommunicationModel

    return boto3.client("dynamodb").get_item(
        TableName=CommunicationModel.Meta.table_name,
        Key={"company_id": {"S": tenant.company_id}, "communication_id": {"S": communication_id}},
    )["Item"]


def test_a_reply_keeps_the_references_it_answers_before_our_own_and_sends_them_in_order(
    tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.core.links import reply_reference
    from chalicelib.store import communications as store

    # Given an e-mail that answers a thread (References of its own, then ours appended)
    comm = queue_email(
        tenant, headers={"References": "<a@cliente.example> <b@cliente.example>"}, in_reply_to=None
    )
    own = reply_reference(tenant.company_id, comm.communication_id)
    # When it is read back from the store and sent
    read = store.get(tenant.company_id, comm.communication_id)
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    # Then the record and the wire have the thread's references first, ours last
    assert read is not None and read.headers["References"] == f"<a@cliente.example> <b@cliente.example> {own}"
    assert mail["References"] == f"<a@cliente.example> <b@cliente.example> {own}"
    # And the item keeps only the thread's part
    assert stored(tenant, comm.communication_id)["headers"] == {
        "M": {"References": {"S": "<a@cliente.example> <b@cliente.example>"}}
    }


def test_headers_that_are_not_ours_to_make_again_are_kept_as_they_were(
    tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.store import communications as store

    # Given an e-mail to a client with someone else's List-Unsubscribe and a header of its own
    headers = {
        "List-Unsubscribe": "<mailto:baja@cargasdelsur.example>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "X-Campaign": "noviembre",
    }
    comm = queue_email(tenant, client_id="CLI-1", kind="manual", headers=headers)
    # When it is read back and sent
    read = store.get(tenant.company_id, comm.communication_id)
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    # Then every header is there, as it was given
    assert read is not None
    assert {k: v for k, v in read.headers.items() if k != "References"} == headers
    assert (mail["List-Unsubscribe"], mail["X-Campaign"]) == (
        "<mailto:baja@cargasdelsur.example>",
        "noviembre",
    )
    item = stored(tenant, comm.communication_id)
    assert item["headers"]["M"]["List-Unsubscribe"] == {"S": "<mailto:baja@cargasdelsur.example>"}
    assert item["headers_from"] == {"S": "ref mid"}


def test_a_reply_to_the_account_chose_is_kept_and_sent_as_it_is(tenant: Tenant, mailbox: MailCatcher) -> None:
    from chalicelib.messaging.accounts.email import save_sender_account
    from chalicelib.store import communications as store
    from tests.steps.tenants import SMTP_USER

    # Given the tracking area's account sets a Reply-To of its own (not the company's inbound)
    save_sender_account(
        tenant.company_id,
        "tracking",
        {
            "kind": "smtp",
            "display_name": "Cargas del Sur Avisos",
            "from_address": "avisos@cargasdelsur.example",
            "reply_to": "atencion@cargasdelsur.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "encryption": "none",
            "username": SMTP_USER,
            "enabled": True,
        },
    )
    # When an e-mail goes out through it
    comm = queue_email(tenant)
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    # Then the record, the item and the wire all have that address
    read = store.get(tenant.company_id, comm.communication_id)
    assert read is not None and read.reply_to == "atencion@cargasdelsur.example"
    assert stored(tenant, comm.communication_id)["reply_to"] == {"S": "atencion@cargasdelsur.example"}
    assert mail["Reply-To"] == "atencion@cargasdelsur.example"


def test_our_message_id_names_its_message_so_a_reply_finds_it_without_an_index(
    tenant: Tenant, other_tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.store import communications as store

    # Given an e-mail sent through the outbox
    comm = queue_email(tenant)
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    # Then its Message-ID on the wire is its id on the sender's domain
    message_id = f"<{comm.communication_id}@cargasdelsur.example>"
    assert mail["Message-ID"] == message_id
    # And the item keeps no copy of it (so it is not in the by-rfc-message index), yet reads it
    item = stored(tenant, comm.communication_id)
    assert "rfc_message_id" not in item and "mid" in item["headers_from"]["S"].split()
    read = store.get(tenant.company_id, comm.communication_id)
    assert read is not None and read.rfc_message_id == message_id == read.provider_message_id
    # When a reply names it, the message is found by its key, in its own company only
    found = store.by_rfc_message_id_in(tenant.company_id, message_id)
    assert found is not None and found.communication_id == comm.communication_id
    assert store.by_rfc_message_id_in(other_tenant.company_id, message_id) is None
    # And a look-alike id on another domain is not taken for it
    assert store.by_rfc_message_id_in(tenant.company_id, f"<{comm.communication_id}@otro.example>") is None
