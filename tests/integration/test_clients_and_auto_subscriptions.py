"""Clients and contacts from the back office, and the subscriptions a shipment's issue creates (T6)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body, outage_injected
from tests.steps.clients import client_answer
from tests.steps.tenants import Tenant
from tests.steps.tracking import post_event, sweep

CLIENT = {
    "name": "Ferretería Norte",
    "emails": ["compras@norte.example"],
    "phones": ["011 4555-1234"],
    "contacts": [
        {
            "contact_id": "c1",
            "first_name": "Marta",
            "last_name": "Sosa",
            "email": "marta@norte.example",
            "wants_cargo_info": True,
        },
        {
            "contact_id": "c2",
            "first_name": "Raúl",
            "last_name": "Díaz",
            "email": "raul@norte.example",
            "wants_cargo_info": False,
        },
        {"contact_id": "c3", "first_name": "Sin", "last_name": "Correo", "wants_cargo_info": True},
    ],
    "message_switches": {"invoice": False},
    "collection_agent": "cobranzas-1",
}


MARTA: dict[str, Any] = {
    "contact_id": "c1",
    "first_name": "Marta",
    "last_name": "Sosa",
    "email": "marta@norte.example",
    "wants_cargo_info": True,
}


def post_parcel(api: Client, tenant: Tenant, payload: dict[str, Any]) -> Any:
    return api.http.post("/parcels", headers=tenant.key_headers(), body=json.dumps(payload))


def followers(api: Client, tenant: Tenant, tracking_id: str) -> list[tuple[str, str]]:
    items = body(api.http.get(f"/parcels/{tracking_id}/subscriptions", headers=tenant.staff_headers()))[
        "items"
    ]
    return sorted((s["email"], s["source"]) for s in items)


def test_the_back_office_registers_a_client_and_reads_it_back(api: Client, tenant: Tenant) -> None:
    # When the back office pushes a client
    response = client_answer(api, tenant, "CLI-9", CLIENT)
    # Then it is stored with its contacts, and unset message switches default to on
    assert response.status_code == 200, response.body
    client = body(api.http.get("/clients/CLI-9", headers=tenant.key_headers()))
    assert [c["first_name"] for c in client["contacts"]] == ["Marta", "Raúl", "Sin"]
    assert (
        client["message_switches"]["invoice"] is False and client["message_switches"]["payment_email"] is True
    )
    assert client["collection_agent"] == "cobranzas-1"
    listed = body(api.http.get("/clients", headers=tenant.key_headers()))["items"]
    assert [c["client_id"] for c in listed] == ["CLI-9"]


def test_phones_are_stored_and_returned_in_e164_and_impossible_ones_are_refused(
    api: Client, tenant: Tenant
) -> None:
    # When the back office pushes a client with phones as people write them
    data = {
        **CLIENT,
        "phones": ["0351 15 123-4567", "011 4555-1234", "+54 9 11 5987-6543", "011 15-5987-6543"],
        "contacts": [{**MARTA, "phone": "(0341) 15 555-1234"}],
    }
    response = client_answer(api, tenant, "CLI-TEL", data)

    # Then they are stored and returned in E.164, once each (Córdoba's area code + 15 is a mobile)
    assert response.status_code == 200, response.body
    client = body(api.http.get("/clients/CLI-TEL", headers=tenant.key_headers()))
    assert client["phones"] == ["+5493511234567", "+541145551234", "+5491159876543"]
    assert client["contacts"][0]["phone"] == "+5493415551234"
    from chalicelib.store.clients import get_client

    stored = get_client(tenant.company_id, "CLI-TEL")
    assert stored is not None and stored.phones == ("+5493511234567", "+541145551234", "+5491159876543")

    # When a number that can never be used is pushed (a mobile without its area code, too short)
    bad = {
        **CLIENT,
        "phones": ["0351 15 123-4567", "15 5987-6543"],
        "contacts": [{**MARTA, "phone": "12345"}],
    }
    response = client_answer(api, tenant, "CLI-TEL", bad)

    # Then it is a 422 naming each bad field, and the client stays as it was
    assert response.status_code == 422, response.body
    assert body(response)["field"] == "phones[1]"
    assert [e["field"] for e in body(response)["errors"]] == ["phones[1]", "contacts[0].phone"]
    assert "is not a valid phone number" in body(response)["message"]
    again = body(api.http.get("/clients/CLI-TEL", headers=tenant.key_headers()))
    assert again["phones"] == client["phones"]


def test_issuing_for_a_registered_client_subscribes_its_flagged_contacts(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a client with one contact who wants cargo information (and one without e-mail)
    client_answer(api, tenant, "CLI-9", CLIENT)
    # When a shipment for that client is issued
    response = post_parcel(
        api, tenant, {"tracking_id": "TRK-C1", "client_id": "CLI-9", "waybill_issued": True}
    )
    # Then Marta is subscribed, Raúl (no tick) and the contact without e-mail are not
    assert response.status_code == 201, response.body
    assert body(response)["subscribed"] == ["marta@norte.example"]
    assert followers(api, tenant, "TRK-C1") == [("marta@norte.example", "client_contact")]
    # And she receives the parcel's alerts
    post_event(api, tenant, "TRK-C1", "ev-1", "IN_TRANSIT", minutes=1)
    assert sweep(tenant).sent == 1
    assert mailbox.wait_for(1)[0]["To"].addresses[0].addr_spec == "marta@norte.example"
    # And issuing the same shipment again subscribes nobody new
    again = post_parcel(api, tenant, {"tracking_id": "TRK-C1", "client_id": "CLI-9", "waybill_issued": True})
    assert again.status_code == 200 and body(again)["subscribed"] == []


def test_an_issue_that_failed_part_way_subscribes_every_flagged_contact_when_posted_again(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import tracking as store

    # Given a client with two contacts who want cargo information
    client_answer(
        api,
        tenant,
        "CLI-9",
        {
            **CLIENT,
            "contacts": [
                MARTA,
                {**MARTA, "contact_id": "c4", "first_name": "Luis", "email": "luis@norte.example"},
            ],
        },
    )
    # And DynamoDB refuses the second subscription's write while the shipment is issued
    real_save = store.save_subscription
    saved: list[str] = []

    def throttled_on_the_second(sub: Any, **kwargs: Any) -> Any:
        if saved:
            raise RuntimeError("DynamoDB throttled the subscription's write")
        saved.append(sub.email)
        return real_save(sub, **kwargs)

    monkeypatch.setattr(store, "save_subscription", throttled_on_the_second)
    shipment = {"tracking_id": "TRK-C9", "client_id": "CLI-9", "waybill_issued": True}
    with outage_injected("the subscription's write"):
        failed = post_parcel(api, tenant, shipment)
    assert failed.status_code == 500
    monkeypatch.undo()

    # When the back office posts the same shipment again (its retry)
    again = post_parcel(api, tenant, shipment)

    # Then both contacts follow the parcel, and its waybill is issued
    assert again.status_code in (200, 201), again.body
    assert followers(api, tenant, "TRK-C9") == [
        ("luis@norte.example", "client_contact"),
        ("marta@norte.example", "client_contact"),
    ]
    assert body(again)["waybill_issued"] is True
    # And posting it once more subscribes nobody new
    assert body(post_parcel(api, tenant, shipment))["subscribed"] == []


def test_subscriptions_start_when_the_waybill_is_issued_not_before(api: Client, tenant: Tenant) -> None:
    client_answer(api, tenant, "CLI-9", CLIENT)
    # Given a parcel registered before its waybill is issued
    first = post_parcel(api, tenant, {"tracking_id": "TRK-C2", "client_id": "CLI-9", "waybill_issued": False})
    assert body(first)["subscribed"] == [] and followers(api, tenant, "TRK-C2") == []
    # When the waybill is issued
    issued = post_parcel(api, tenant, {"tracking_id": "TRK-C2", "client_id": "CLI-9", "waybill_issued": True})
    # Then the flagged contacts are subscribed
    assert body(issued)["subscribed"] == ["marta@norte.example"]


def test_eventual_sender_and_recipient_are_subscribed_when_they_ticked_it(
    api: Client, tenant: Tenant
) -> None:
    # When an unregistered sender (ticked) and recipient (not ticked) come with the issue
    response = post_parcel(
        api,
        tenant,
        {
            "tracking_id": "TRK-C3",
            "waybill_issued": True,
            "sender": {
                "first_name": "Ema",
                "last_name": "Ruiz",
                "email": "ema@example.com",
                "wants_cargo_info": True,
            },
            "recipient": {"first_name": "Leo", "last_name": "Paz", "email": "leo@example.com"},
        },
    )
    # Then only the sender follows the parcel
    assert response.status_code == 201, response.body
    assert followers(api, tenant, "TRK-C3") == [("ema@example.com", "eventual_party")]


def test_tracking_contacts_at_issue_need_the_company_setting(api: Client, tenant: Tenant) -> None:
    payload = {
        "tracking_id": "TRK-C4",
        "waybill_issued": True,
        "tracking_contacts": [{"first_name": "Ana", "last_name": "Gil", "email": "ana@example.com"}],
    }
    # Given the company does not ask for tracking contacts: the issue is refused and nothing is written
    refused = post_parcel(api, tenant, payload)
    assert refused.status_code == 422 and body(refused)["field"] == "tracking_contacts"
    assert api.http.get("/parcels/TRK-C4", headers=tenant.key_headers()).status_code == 404
    # When the admin turns the setting on
    turned_on = api.http.patch(
        "/company", headers=tenant.admin_headers(), body=json.dumps({"ask_tracking_contacts": True})
    )
    assert turned_on.status_code == 200 and body(turned_on)["ask_tracking_contacts"] is True
    # Then the same issue subscribes the contact
    accepted = post_parcel(api, tenant, payload)
    assert accepted.status_code == 201, accepted.body
    assert followers(api, tenant, "TRK-C4") == [("ana@example.com", "issue_contact")]


def test_bad_client_input_names_the_field_and_clients_stay_private(
    api: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    bad = [
        ({**CLIENT, "emails": ["nope"]}, "emails[0]"),
        ({**CLIENT, "contacts": [{"contact_id": "x", "first_name": "A"}]}, "contacts[0].last_name"),
        ({**CLIENT, "message_switches": {"weather": True}}, "message_switches.weather.[key]"),
        ({k: v for k, v in CLIENT.items() if k != "name"}, "name"),
    ]
    for data, field in bad:
        response = client_answer(api, tenant, "CLI-BAD", data)
        assert response.status_code == 422, (field, response.body)
        assert body(response)["field"] == field
    assert api.http.get("/clients/CLI-BAD", headers=tenant.key_headers()).status_code == 404
    # And another company sees none of this company's clients
    client_answer(api, tenant, "CLI-9", CLIENT)
    assert api.http.get("/clients/CLI-9", headers=other_tenant.key_headers()).status_code == 404
    assert body(api.http.get("/clients", headers=other_tenant.key_headers()))["items"] == []
