"""What a company reads of AWS's refusals (channels.provider_errors): AWS's code and what it says
of the company's data, never our account id, roles, ARNs, request ids or resources' names."""

from __future__ import annotations

import pytest

from chalicelib.channels.provider_errors import tenant_safe
from chalicelib.core.settings import get_settings


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        (  # SES: the part about the company's address stays
            "Email address is not verified. The following identities failed the check in region "
            "US-EAST-1: ana@cargas.example",
            "Email address is not verified. The following identities failed the check in region "
            "US-EAST-1: ana@cargas.example",
        ),
        (  # IAM: our role and account go, the action stays
            "User: arn:aws:sts::123456789012:assumed-role/pregon-prod-sender/drain is not authorized "
            "to perform: ses:SendEmail on resource: "
            "arn:aws-us-gov:ses:us-east-1:123456789012:identity/x.example",
            "User: [AWS resource] is not authorized to perform: ses:SendEmail on resource: [AWS resource]",
        ),
        (  # SNS glues "arn" to the ARN; a phone number of 12 digits is the company's, and stays
            "Invalid parameter: Endpoint does not exist for endpoint arnarn:aws:sns:us-east-1:123456789012:"
            "endpoint/GCM/app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 (+541112345678)",
            "Invalid parameter: Endpoint does not exist for endpoint arn[AWS resource] (+541112345678)",
        ),
        (  # a bare account id, a request id, a role outside an ARN
            "Account 123456789012 is throttled (Request ID: 5f2e7c1a-8b3d-4e6f-9a0b-1c2d3e4f5a6b) "
            "for role/pregon-x",
            "Account [account] is throttled ([request id]) for [AWS resource]",
        ),
    ],
)
def test_a_company_reads_what_aws_said_of_its_data_and_nothing_of_our_account(said: str, shown: str) -> None:
    assert tenant_safe(said) == shown


def test_our_resources_names_are_not_told() -> None:
    # Given SES's answer naming our configuration set
    name = get_settings().ses_configuration_set
    # Then the company reads that a configuration set of ours is missing, not its name
    assert tenant_safe(f"Configuration set <{name}> does not exist.") == (
        "Configuration set <[Pregón resource]> does not exist."
    )
