"""Every message Pregón hands to AWS (an SES e-mail, an SNS SMS or push) goes through
``core.aws.sending_client``, whose short timeouts and few attempts end a send within
``channels.base.SEND_SECONDS`` during an outage (botocore's defaults could take minutes; what a
silent endpoint does to each channel is in tests/integration/test_channel_deadlines.py). This keeps
every sending call on it."""

from __future__ import annotations

import ast

from tests.steps.sources import parsed_sources

SENDING_CALLS = {"send_email", "send_raw_email", "send_bulk_email", "publish", "publish_batch"}


def sending_calls() -> dict[str, str]:
    """Each call of an AWS sending operation in chalicelib, with the client it was made on: the
    name of the function that made it (``sending_client``), or of the variable it was kept in."""
    found: dict[str, str] = {}
    for source in parsed_sources("chalicelib"):
        tree = source.tree
        made_by: dict[str, str] = {}  # variable -> the function whose call it holds
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                func = node.value.func
                if isinstance(func, ast.Name):
                    for target in targets:
                        if isinstance(target, ast.Name):
                            made_by[target.id] = func.id
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in SENDING_CALLS:
                continue
            owner = node.func.value
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name):
                client = owner.func.id
            elif isinstance(owner, ast.Name):
                client = made_by.get(owner.id, owner.id)
            else:
                client = ast.unparse(owner)
            found[f"{source.name}:{node.lineno}"] = client
    return found


def test_every_message_handed_to_aws_goes_through_the_sending_client() -> None:
    # Given every call in chalicelib that hands AWS a message to send
    calls = sending_calls()
    # Then there are the channels' and the domain notices' ...
    assert any("channels/ses.py" in place for place in calls)
    assert any("domain_checks.py" in place for place in calls)
    # ... and each is made on the sending client
    assert {place: client for place, client in calls.items() if client != "sending_client"} == {}
