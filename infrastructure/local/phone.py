"""A phone for the local stack: an SMS to the company's two-way number arrives the way AWS End User
Messaging delivers it (its two-way payload, AWS's example in ``samples/sms_two_way.json``,
published to the ``pregon-inbound-sms`` topic; :mod:`infrastructure.local.topics` hands it to
``receive_inbound_sms``), and the SMS the stack sent through SNS can be listed (moto keeps them).

    uv run python -m infrastructure.local.stack sms --from +5491159876543 "SALDO"
    uv run python -m infrastructure.local.stack sms --outbox
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

from infrastructure.local.demo import INBOUND_NUMBER as DEMO_INBOUND_NUMBER

SAMPLES = Path(__file__).parent / "samples"


def two_way_payload(
    origination: str, destination: str, body: str, message_id: str | None = None
) -> dict[str, Any]:
    """AWS's two-way SMS payload with this message's numbers, text and id."""
    payload: dict[str, Any] = copy.deepcopy(json.loads((SAMPLES / "sms_two_way.json").read_text()))
    payload.update(
        originationNumber=origination,
        destinationNumber=destination,
        messageKeyword=payload.get("messageKeyword", "KEYWORD"),
        messageBody=body,
        inboundMessageId=message_id or str(uuid.uuid4()),
    )
    payload.pop("previousPublishedMessageId", None)  # only present when it answers an SMS we sent
    return payload


def send_inbound_sms(origination: str, body: str, destination: str = DEMO_INBOUND_NUMBER) -> str:
    """Publish one inbound SMS to the two-way topic in moto; returns its ``inboundMessageId``."""
    from chalicelib.core.aws import client
    from chalicelib.events.inbound_sms import INBOUND_SMS_TOPIC

    payload = two_way_payload(origination, destination, body)
    sns = client("sns")
    topic_arn = sns.create_topic(Name=INBOUND_SMS_TOPIC)["TopicArn"]
    sns.publish(TopicArn=topic_arn, Message=json.dumps(payload))
    return str(payload["inboundMessageId"])


def sent_sms(moto_endpoint: str) -> list[dict[str, str]]:
    """The SMS sent through SNS, oldest first, as moto recorded them (to, text, message id)."""
    import requests

    data = requests.get(f"{moto_endpoint}/moto-api/data.json", timeout=10).json()
    return [
        {
            "to": str(s.get("phone_number", "")),
            "text": str(s.get("message", "")),
            "message_id": str(s["message_id"]),
        }
        for s in data.get("sns", {}).get("SMS", [])
    ]
