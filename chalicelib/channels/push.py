"""Push notifications through SNS mobile push: one publish per device endpoint (C7)."""

from __future__ import annotations

import json

from chalicelib.channels.base import COMMUNICATION_HEADER, OutgoingChannelMessage, SentAsIs
from chalicelib.channels.provider_errors import delivery_errors
from chalicelib.core.aws import sending_client

# SNS answers these when an endpoint can never receive again (app uninstalled, token revoked).


def push_payload(title: str, body: str, data: dict[str, str] | None = None) -> str:
    """The SNS message with one body per platform (FCM v1 and APNs)."""
    extra = data or {}
    fcm = {"fcmV1Message": {"message": {"notification": {"title": title, "body": body}, "data": extra}}}
    apns = {"aps": {"alert": {"title": title, "body": body}}, **extra}
    return json.dumps(
        {
            "default": body,
            "GCM": json.dumps(fcm),
            "APNS": json.dumps(apns),
            "APNS_SANDBOX": json.dumps(apns),
        }
    )


class PushSender(SentAsIs):
    """SNS mobile push: ``to_address`` is the device's endpoint ARN, ``subject`` the title."""

    def send(self, message: OutgoingChannelMessage) -> str:
        payload = push_payload(message.subject, message.text, message.data)
        with delivery_errors("SNS", communication_id=message.headers.get(COMMUNICATION_HEADER)):
            response = sending_client("sns").publish(
                TargetArn=message.to_address, Message=payload, MessageStructure="json"
            )
        return str(response["MessageId"])

    def close(self) -> None:
        return None
