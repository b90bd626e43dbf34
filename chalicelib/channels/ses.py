"""Amazon SES v2: raw MIME through SendEmail, from the account's verified identity."""

from __future__ import annotations

from email.message import EmailMessage
from types import TracebackType

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws import TRANSIENT_AWS_CODES, client
from chalicelib.errors import DeliveryFailed
from chalicelib.store.records import SenderAccount


class SesSession:
    def __init__(self, account: SenderAccount) -> None:
        self._account = account

    def __enter__(self) -> SesSession:
        return self

    def send(self, message: EmailMessage) -> str:
        recipients = [a.addr_spec for a in message["To"].addresses]
        try:
            response = client("sesv2").send_email(
                FromEmailAddress=str(message["From"]),
                Destination={"ToAddresses": recipients},
                Content={"Raw": {"Data": message.as_bytes()}},
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise DeliveryFailed(
                error.get("Message", str(exc)), transient=error.get("Code") in TRANSIENT_AWS_CODES
            ) from exc
        except BotoCoreError as exc:
            raise DeliveryFailed(str(exc), transient=True) from exc
        return str(response["MessageId"])

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None
