"""What a flood of received mail costs Pregón, and what the day's ceilings (decision 0037) leave of it.

    uv run python -m bench.inbound_flood [--messages 300]

On the real local stack (DynamoDB Local, moto's S3 and SES), ``--messages`` e-mails are written to
one company's inbound address as SES receives them (the raw message put in the inbound bucket,
its "Received" notification handed to the deployed handler ``receive_inbound_mail``), in three
floods: from one stranger's address, from as many strangers as messages, and from one known
client's address (the case that fires webhooks). Each runs twice: with the ceilings off (as
before session 38) and at the stage's defaults (``PREGON_INBOUND_*``). Every botocore call is
metered as ``bench.cost_model`` meters it (DynamoDB units, S3 requests), the handler's wall time
priced at its memory, the records counted: unassigned items, webhook events (``inbound.received``
announced), notices to administrators (SES sends). The figures per message, times 10,000 and per
100,000 in dollars, go to ``bench/results/inbound_flood.json``; bench/README.md keeps a run's.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from bench._stack import local_stack, make_company, write_result
from bench.cost_model import CostMeter, LambdaMeter, LogMeter, SendClock, _part, costs

PER = 100_000
FLOOD = 10_000  # the projection's messages
ATTACHMENT = b"%PDF-1.4 " + bytes(range(256)) * 80  # a 20 KB file, as a robot's report carries


@contextmanager
def mode(name: str) -> Iterator[None]:
    """``before``: no ceiling, nothing counted (main before session 38: ``admitted`` always True);
    ``held``: every ceiling 0, so every message is held (what a held message costs)."""
    from chalicelib.core import settings
    from chalicelib.records import inbound_mail

    original, original_admitted = settings.get_settings, inbound_mail.admitted
    if name == "before":
        inbound_mail.admitted = lambda *args, **kwargs: True
    else:
        zero = replace(
            original(),
            inbound_per_sender_per_day=0,
            inbound_per_client_address_per_day=0,
            inbound_strangers_per_company_per_day=0,
        )
        settings.get_settings = lambda: zero  # type: ignore[assignment]
    try:
        yield
    finally:
        settings.get_settings, inbound_mail.admitted = original, original_admitted


def raw_mail(company_id: str, sender: str, n: int) -> bytes:
    import base64

    boundary = uuid.uuid4().hex
    attachment = base64.encodebytes(ATTACHMENT).decode().replace("\n", "\r\n")
    return (
        f"From: {sender}\r\nTo: {company_id}@inbound.pregon.local\r\nSubject: Re: Re: Re: aviso {n}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@loop.example>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "Este mensaje fue generado automáticamente. "
        * 20
        + f"\r\n--{boundary}\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="informe-{n}.pdf"\r\n\r\n'
        f"{attachment}\r\n--{boundary}--\r\n"
    ).encode()


def flood(company_id: str, senders: list[str]) -> dict[str, Any]:
    """Each of ``senders`` writes one message (repeat an address for several); what it cost."""
    from app import app
    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings
    from chalicelib.messaging.webhooks import service
    from infrastructure.local.inbound_smtp import OBJECT_KEY_PREFIX, received_notification, ses_message_id

    bucket, s3 = get_settings().inbound_bucket, client("s3")
    notes = []
    for n, sender in enumerate(senders):
        raw, message_id = raw_mail(company_id, sender, n), ses_message_id()
        s3.put_object(Bucket=bucket, Key=OBJECT_KEY_PREFIX + message_id, Body=raw)  # SES's, not ours
        notes.append(
            received_notification(
                message_id=message_id,
                bucket=bucket,
                key=OBJECT_KEY_PREFIX + message_id,
                topic_arn="arn:aws:sns:us-east-1:123456789012:pregon-inbound-mail",
                mail_from=sender,
                recipients=[f"{company_id}@inbound.pregon.local"],
                raw=raw,
                at=datetime.now(timezone.utc),
            )
        )
    announced = []
    original_announce = service.announce

    def counted(*args: Any, **kwargs: Any) -> Any:
        announced.append(args[1] if len(args) > 1 else kwargs.get("event_type"))
        return original_announce(*args, **kwargs)

    s3_before = stored_bytes()
    handler = app.handler_map["receive_inbound_mail"]
    meter, logs = CostMeter(), LogMeter()
    lambdas = LambdaMeter(meter)
    logged = held = 0
    service.announce = counted
    try:
        with meter.active(), logs.active():
            for note in notes:
                event = sns_event(json.dumps(note))
                with lambdas.invocation("receive_inbound_mail"):
                    answer = handler(event, None)
                logged += int(answer.get("logged", 0))
                held += int(answer.get("held", 0))
    finally:
        service.announce = original_announce
    part = _part(meter, lambdas, SendClock(), logs, len(senders))
    rows = costs(part, len(senders))
    ses_sends = sum(v for k, v in meter.calls.items() if k.startswith("sesv2:") or k.startswith("ses:"))
    return {
        "messages": len(senders),
        "recorded": logged,
        "held": held,
        "webhook_events": len(announced),
        "notices_sent": ses_sends,
        "dynamodb_write_units_per_message": round(
            (part["dynamodb_units"].get("write_table", 0) + part["dynamodb_units"].get("write_index", 0))
            / len(senders),
            2,
        ),
        "stored_bytes_per_message": round(part["stored_bytes_of_new_items"] / len(senders)),
        "s3_puts_per_message": round(
            sum(v for k, v in meter.calls.items() if k.startswith("s3:Put")) / len(senders), 2
        ),
        "s3_bytes_per_message": round(stored_bytes() - s3_before) // len(senders),
        "lambda_ms_per_message": round(
            part["lambda"]["functions"]["receive_inbound_mail"]["billed_seconds"] * 1000 / len(senders), 1
        ),
        "usd_per_100k": round(sum(r["usd_per_100k"] for r in rows), 2),
        "by_component_usd_per_100k": {r["component"]: round(r["usd_per_100k"], 3) for r in rows},
    }


def stored_bytes() -> int:
    """Bytes in Pregón's files bucket (attachments kept), SES's inbound bucket left out."""
    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings

    s3, total = client("s3"), 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=get_settings().files_bucket):
        total += sum(int(o["Size"]) for o in page.get("Contents", []))
    return total


def sns_event(message: str) -> dict[str, Any]:
    """The SNS event Lambda hands the handler (chalice's ``generate_sns_event``'s shape)."""
    sns = {
        "Message": message,
        "MessageAttributes": {},
        "MessageId": str(uuid.uuid4()),
        "Subject": "Amazon SES Email Receipt Notification",
        "Timestamp": datetime.now(timezone.utc).isoformat(),
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:pregon-inbound-mail",
        "Type": "Notification",
    }
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": sns}]}


def unassigned_count(company_id: str) -> int:
    from chalicelib.store import communications

    count, cursor = 0, None
    while True:
        page = communications.unassigned_page(company_id, limit=100, cursor=cursor, thread_owner=None)
        count += len(page.items)
        if not page.cursor:
            return count
        cursor = page.cursor


def projected(before: dict[str, Any], held: dict[str, Any], recorded: int) -> dict[str, Any]:
    """:data:`FLOOD` messages of which ``recorded`` are recorded (each as ``before`` measured one)
    and the rest held (as ``held`` measured one)."""
    rest = FLOOD - recorded

    def mix(name: str) -> float:
        return float(before[name]) * recorded + float(held[name]) * rest

    return {
        "recorded": recorded,
        "held": rest,
        "unassigned_or_register_items": recorded,
        "webhook_events": round(before["webhook_events"] / before["messages"] * recorded),
        "notices_sent": 1 if rest else 0,
        "dynamodb_write_units": round(mix("dynamodb_write_units_per_message")),
        "stored_bytes_dynamodb": round(mix("stored_bytes_per_message")),
        "s3_bytes_attachments": round(mix("s3_bytes_per_message")),
        "lambda_seconds": round(mix("lambda_ms_per_message") / 1000, 1),
        "usd_per_100k_messages": round(mix("usd_per_100k") / FLOOD, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args(argv)
    n = args.messages
    results: dict[str, Any] = {"messages_per_measure": n, "projection_messages": FLOOD}
    with local_stack():
        import boto3

        from chalicelib.core.settings import get_settings, notice_from
        from chalicelib.tenants.clients import save_client
        from chalicelib.tenants.staff import UserFields, save_user

        boto3.client("ses").verify_email_identity(EmailAddress=notice_from())
        settings = get_settings()
        floods = {
            "one stranger": (["robot@loop.example"] * n, settings.inbound_per_sender_per_day),
            "as many strangers": (
                [f"s{i}@{uuid.uuid4().hex[:6]}.example" for i in range(n)],
                settings.inbound_strangers_per_company_per_day,
            ),
            "one known client": (["ana@cliente.example"] * n, settings.inbound_per_client_address_per_day),
        }
        for flood_name, (senders, recorded_at_defaults) in floods.items():
            measured = {}
            for name in ("before", "held"):
                company_id = make_company(None, name="Inundada")
                save_user(company_id, "olga", UserFields(level=1, email=f"olga@{company_id}.example"))
                save_client(
                    company_id,
                    "CLI-1",
                    name="Ana",
                    emails=["ana@cliente.example"],
                    phones=[],
                    contacts=[],
                    message_switches={},
                    preferred_agent=None,
                    collection_agent=None,
                )
                with mode(name):
                    figures = flood(company_id, senders)
                figures["unassigned_listed"] = unassigned_count(company_id)
                measured[name] = figures
                print(flood_name, "/", name, json.dumps(figures, ensure_ascii=False))
            results[flood_name] = {
                **measured,
                f"{FLOOD} before": projected(measured["before"], measured["held"], FLOOD),
                f"{FLOOD} with the ceilings": projected(
                    measured["before"], measured["held"], recorded_at_defaults
                ),
            }
            print(
                flood_name,
                json.dumps({k: v for k, v in results[flood_name].items() if k.startswith(str(FLOOD))}),
            )
    write_result("inbound_flood", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
