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
OFF = {
    "inbound_per_sender_per_day": 10**9,
    "inbound_per_client_address_per_day": 10**9,
    "inbound_strangers_per_company_per_day": 10**9,
}


@contextmanager
def ceilings(off: bool) -> Iterator[None]:
    from chalicelib.core import settings

    original = settings.get_settings
    chosen = replace(original(), **OFF) if off else original()
    settings.get_settings = lambda: chosen  # type: ignore[assignment]
    try:
        yield
    finally:
        settings.get_settings = original  # type: ignore[assignment]


def raw_mail(company_id: str, sender: str, n: int) -> bytes:
    return (
        f"From: {sender}\r\nTo: {company_id}@inbound.pregon.local\r\nSubject: Re: Re: Re: aviso {n}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@loop.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "Este mensaje fue generado automáticamente. " * 20
        + "\r\n"
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

    handler = app.handler_map["receive_inbound_mail"]
    meter, logs = CostMeter(), LogMeter()
    lambdas = LambdaMeter(meter)
    logged = held = 0
    service.announce = counted  # type: ignore[assignment]
    try:
        with meter.active(), logs.active():
            for note in notes:
                event = sns_event(json.dumps(note))
                with lambdas.invocation("receive_inbound_mail"):
                    answer = handler(event, None)
                logged += int(answer.get("logged", 0))
                held += int(answer.get("held", 0))
    finally:
        service.announce = original_announce  # type: ignore[assignment]
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
        "lambda_ms_per_message": round(
            part["lambda"]["functions"]["receive_inbound_mail"]["billed_seconds"] * 1000 / len(senders), 1
        ),
        "usd_per_100k": round(sum(r["usd_per_100k"] for r in rows), 2),
        "by_component_usd_per_100k": {r["component"]: round(r["usd_per_100k"], 3) for r in rows},
    }


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args(argv)
    n = args.messages
    results: dict[str, Any] = {"messages_per_flood": n}
    with local_stack():
        import boto3

        from chalicelib.core.settings import notice_from
        from chalicelib.tenants.clients import save_client
        from chalicelib.tenants.staff import UserFields, save_user

        boto3.client("ses").verify_email_identity(EmailAddress=notice_from())
        for off in (True, False):
            label = "ceilings off (before)" if off else "ceilings at the defaults"
            for flood_name, senders in (
                ("one stranger", ["robot@loop.example"] * n),
                ("as many strangers", [f"s{i}@{uuid.uuid4().hex[:6]}.example" for i in range(n)]),
                ("one known client", ["ana@cliente.example"] * n),
            ):
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
                with ceilings(off):
                    figures = flood(company_id, senders)
                figures["unassigned_listed"] = unassigned_count(company_id)
                results.setdefault(label, {})[flood_name] = figures
                print(label, "/", flood_name, json.dumps(figures, ensure_ascii=False))
    write_result("inbound_flood", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
