"""Amazon SES v2: raw MIME through SendEmail, from the account's verified identity.

Every send names the configuration set (``settings.ses_configuration_set``) whose event
destination publishes Send/Delivery/Bounce/Complaint/Reject events to the SNS topic that
``events.ses_events`` listens to (Q5), and tags the message with its company so that an event
can be checked against the communication it names, and with the communication's id (from our
``X-Pregon-Message`` header) so that the event names the item itself: applying it is one
conditional write, with no index query and no read (issue 14).
"""

from __future__ import annotations

import re

from chalicelib.channels.base import COMMUNICATION_HEADER, OutgoingChannelMessage, SentAsIs
from chalicelib.channels.email import mime_of, wire_of
from chalicelib.channels.provider_errors import delivery_errors
from chalicelib.core.aws import sending_client
from chalicelib.core.domain import SenderAccount
from chalicelib.core.errors import DeliveryFailed
from chalicelib.core.settings import get_settings

COMPANY_TAG = "pregon-company"
COMMUNICATION_TAG = "pregon-communication"
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


def company_tag_value(company_id: str) -> str:
    """SES tag values allow letters, digits, ``_`` and ``-`` only (at most 256 characters)."""
    return _TAG_UNSAFE.sub("_", company_id)[:256]


class SesChannel(SentAsIs):
    """The SES v2 API, as the account's verified identity; nothing is held between sends."""

    def __init__(self, account: SenderAccount) -> None:
        self._account = account

    def send(self, message: OutgoingChannelMessage) -> str:
        """The raw message is the bytes the SMTP path writes (RFC 5322: CRLF line ends; SES signs
        them with DKIM as they are). ``FromEmailAddress`` is the bare address: SES takes a display
        name there only as RFC 2047 words, and the raw From header carries it anyway."""
        mime = mime_of(message, self._account)
        recipients = [a.addr_spec for a in mime["To"].addresses]
        wire = wire_of(mime)
        if wire is None:  # SES has no SMTPUTF8: it would get the address as encoded-words
            raise DeliveryFailed("SES does not send to or from an address that is not ASCII (SMTPUTF8)")
        log_keys = {
            "company_id": self._account.company_id,
            "communication_id": message.headers.get(COMMUNICATION_HEADER),
        }
        with delivery_errors("SES", **log_keys):
            response = sending_client("sesv2").send_email(
                FromEmailAddress=mime["From"].addresses[0].addr_spec,
                Destination={"ToAddresses": recipients},
                Content={"Raw": {"Data": wire.data}},
                ConfigurationSetName=get_settings().ses_configuration_set,
                EmailTags=self._tags(message),
            )
        return str(response["MessageId"])

    def _tags(self, message: OutgoingChannelMessage) -> list[dict[str, str]]:
        tags = [{"Name": COMPANY_TAG, "Value": company_tag_value(self._account.company_id)}]
        communication_id = message.headers.get(COMMUNICATION_HEADER, "")
        # Only an id that is a valid tag value as it is: a changed one would name another item.
        if communication_id and company_tag_value(communication_id) == communication_id:
            tags.append({"Name": COMMUNICATION_TAG, "Value": communication_id})
        return tags

    def close(self) -> None:
        return None
