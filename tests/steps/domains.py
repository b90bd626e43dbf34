"""Sending domains as tests need them: registered and, since moto answers as SES does once the
DNS records are published, verified."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.steps.aws import moto_received


def verified_sending_domain(company_id: str, domain: str) -> str:
    """The company's administrator registers ``domain`` and publishes its records; SES (moto)
    verifies it. Returns the domain."""
    from chalicelib.messaging.accounts.domains import register_sending_domain

    status = register_sending_domain(company_id, domain, by=f"admin@{company_id}")
    assert status.verified, status
    return domain


def ses_removes_the_identity(domain: str) -> None:
    """Someone deletes the domain's identity in the SES console: SES no longer verifies it."""
    import boto3

    boto3.client("ses").delete_identity(Identity=domain)


class SesAnsweringPending:
    """SES as the code reaches it, answering every identity's verification and DKIM pending."""

    def __init__(self, ses: Any) -> None:
        self.ses = ses

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ses, name)

    def get_identity_verification_attributes(self, **kwargs: Any) -> Any:
        answer = self.ses.get_identity_verification_attributes(**kwargs)["VerificationAttributes"]
        return {
            "VerificationAttributes": {n: {**a, "VerificationStatus": "Pending"} for n, a in answer.items()}
        }

    def get_identity_dkim_attributes(self, **kwargs: Any) -> Any:
        answer = self.ses.get_identity_dkim_attributes(**kwargs)["DkimAttributes"]
        return {"DkimAttributes": {n: {**a, "DkimVerificationStatus": "Pending"} for n, a in answer.items()}}


@contextmanager
def ses_not_verifying_yet() -> Iterator[None]:
    """SES as on AWS until a domain's DNS records are published: every identity pending (moto
    verifies at once). The shared SES client is left as it is; Pregón's calls go through a wrapper."""
    import pytest

    from chalicelib.messaging.accounts import domains

    real_client = domains.client
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(
            domains,
            "client",
            lambda service: (
                SesAnsweringPending(real_client(service)) if service == "ses" else real_client(service)
            ),
        )
        yield


def pregon_notice_sender_verified() -> str:
    """Pregón's own notice sender (``PREGON_NOTICE_FROM``) is an identity SES verifies in Pregón's
    account, as the operator sets it up (docs/operations.md): the test stage's, which the functions
    the test client runs see, and the environment's, which a use case called directly sees.
    Returns the test stage's."""
    import json
    from pathlib import Path

    import boto3

    from chalicelib.core.settings import notice_from

    config = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
    staged = str(config["stages"]["test"]["environment_variables"]["PREGON_NOTICE_FROM"])
    for sender in (staged, notice_from()):
        boto3.client("ses").verify_email_identity(EmailAddress=sender)
    return staged


def notices_received(recipient: str) -> list[Any]:
    """The raw e-mails SES (moto) received for ``recipient`` (on its To header), parsed."""
    return notices_by_recipient(only=[recipient]).get(recipient, [])


def notices_by_recipient(only: list[str]) -> dict[str, list[Any]]:
    """The raw e-mails SES (moto) received for each of ``only`` (on their To header), parsed, read
    from moto once (it answers with every message the test process sent, so a test asking after
    many recipients asks once)."""
    import email
    from email.policy import default

    sent = moto_received("ses", "RawMessage")
    wanted = set(only)
    received: dict[str, list[Any]] = {address: [] for address in only}
    for raw in sent:
        if not any(address in raw["raw_data"] for address in wanted):
            continue  # not parsed: none of them is named anywhere in it
        message = email.message_from_string(raw["raw_data"], policy=default)
        for address in {a.addr_spec for a in message["To"].addresses} & wanted:
            received[address].append(message)
    return received


def the_hourly_check_runs(api: Any) -> dict[str, Any]:
    """EventBridge fires the deployed scheduled function that checks the sending domains."""
    from tests.steps.aws import scheduled_function_runs

    return scheduled_function_runs(api, "check_sending_domains")
