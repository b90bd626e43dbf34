"""Sending domains as tests need them: registered and, since moto answers as SES does once the
DNS records are published, verified."""

from __future__ import annotations


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
