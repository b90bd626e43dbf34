"""Sending domains as tests need them: registered and, since moto answers as SES does once the
DNS records are published, verified."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


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
