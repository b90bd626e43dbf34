"""Q2: the AWS deployment synthesizes offline into a template that cfn-lint accepts.

The synthesis runs once per module (about 10 s: Chalice packages the code and the locked
dependencies, cached in ``.chalice/deployments``; the first run on a machine needs PyPI).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from pynamodb.indexes import GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.store import models
from infrastructure.aws import synth

# CPU-bound (synth, cfn-lint, Checkov) and needing no local AWS: run in the pytest beside the
# others, which mostly waits for its stacks' minute schedules (infrastructure/local/test.sh).
pytestmark = pytest.mark.beside

ROOT = Path(__file__).resolve().parents[2]
STAGE = "prod"
PREFIX = "pregon-prod-"

# cfn-lint rules this project accepts, each with the reason. Errors (E) and warnings (W) all
# fail the test; none is ignored today. Informational rules (I) are not run: the only one the
# template raises is I3011 on the Lambda log groups Chalice generates (no DeletionPolicy),
# and losing a function's logs with its stack is what we want.
IGNORED_RULES: dict[str, str] = {}

Json = dict[str, Any]


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Given the project as committed
    out = tmp_path_factory.mktemp("synth")
    # When the deployment is synthesized for prod, the way the README says. In a subprocess:
    # Chalice loads app.py with the stage's environment variables put into os.environ, which
    # must not leak into the rest of the test run.
    result = subprocess.run(
        [sys.executable, "-m", "infrastructure.aws.synth", "--stage", STAGE, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def template(out_dir: Path) -> Json:
    return dict(json.loads((out_dir / "sam.json").read_text()))


def resources_of_type(template: Json, type_name: str) -> dict[str, Json]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}


def tables_by_name(template: Json) -> dict[str, Json]:
    return {
        t["Properties"]["TableName"]: t["Properties"]
        for t in resources_of_type(template, "AWS::DynamoDB::Table").values()
    }


def expected_key_schema(attributes: dict[str, Any]) -> list[Json]:
    hash_keys = [a.attr_name for a in attributes.values() if a.is_hash_key]
    range_keys = [a.attr_name for a in attributes.values() if a.is_range_key]
    return [{"AttributeName": name, "KeyType": "HASH"} for name in hash_keys] + [
        {"AttributeName": name, "KeyType": "RANGE"} for name in range_keys
    ]


def expected_indexes(model: type[Model]) -> dict[str, Json]:
    indexes = [v for v in vars(model).values() if isinstance(v, GlobalSecondaryIndex | LocalSecondaryIndex)]
    return {
        index.Meta.index_name: {
            "KeySchema": expected_key_schema(index.Meta.attributes),
            "Projection": {"ProjectionType": index.Meta.projection.projection_type}
            | (
                {"NonKeyAttributes": list(index.Meta.projection.non_key_attributes)}
                if index.Meta.projection.non_key_attributes
                else {}
            ),
        }
        for index in indexes
    }


def role_policies(template: Json) -> list[Json]:
    return [
        policy["PolicyDocument"]
        for role in resources_of_type(template, "AWS::IAM::Role").values()
        for policy in role["Properties"].get("Policies", [])
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# CPU-bound for a minute on an idle machine (synthesis, then cfn-lint's schemas): on a loaded one
# (other test runs on the same two cores) the default 300 s covering setup and call ran out.
@pytest.mark.timeout(900)
def test_template_passes_cfn_lint(out_dir: Path) -> None:
    # Given the synthesized SAM template
    # When cfn-lint checks it (SAM transform included) for the region the config targets
    matches = lint_file(
        out_dir / "sam.json",
        config=ManualArgs(regions=["us-east-1"], ignore_checks=list(IGNORED_RULES)),
    )
    # Then it reports no error and no warning
    assert [str(m) for m in matches] == []


def test_the_template_fits_cloudformation_as_written_and_as_packaged(out_dir: Path) -> None:
    import yaml

    # Given the synthesized template, as written and as `aws cloudformation package` writes it (YAML)
    written = (out_dir / "sam.json").read_bytes()
    packaged = yaml.safe_dump(json.loads(written), default_flow_style=False, allow_unicode=True).encode()
    # Then both are under the 1 MB CloudFormation takes from S3 (infrastructure/README.md), with room
    assert len(written) < 800_000, len(written)
    assert len(packaged) < 900_000, len(packaged)


def test_every_model_has_its_table_with_keys_and_indexes(template: Json) -> None:
    # Given the PynamoDB models the code reads and writes
    tables = tables_by_name(template)
    # Then each has a table named <prefix><base name>, with the model's keys and indexes
    expected_names = {PREFIX + synth.base_table_names()[m] for m in models.ALL_MODELS}
    assert set(tables) == expected_names
    for model in models.ALL_MODELS:
        table = tables[PREFIX + synth.base_table_names()[model]]
        assert table["KeySchema"] == expected_key_schema(model.get_attributes())
        indexes = {
            i["IndexName"]: {"KeySchema": i["KeySchema"], "Projection": i["Projection"]}
            for i in table.get("GlobalSecondaryIndexes", []) + table.get("LocalSecondaryIndexes", [])
        }
        assert indexes == expected_indexes(model), model.__name__
        # And it is on-demand, point-in-time recoverable, encrypted and protected in prod
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": {"Fn::GetAtt": ["SecretsKey", "Arn"]},
        }
        assert table["DeletionProtectionEnabled"] is True


def test_sparse_indexes_that_sweeps_use_exist(template: Json) -> None:
    # Given the tables
    tables = tables_by_name(template)

    def index(table: str, name: str) -> Json:
        found = [i for i in tables[PREFIX + table]["GlobalSecondaryIndexes"] if i["IndexName"] == name]
        assert found, f"{name} on {table}"
        return dict(found[0])

    # Then the indexes the sweeps and the follow-up screens query are there, projecting ALL, but
    # the follow-ups' keys only (issue 14: the listing reads its parcels by key)
    for table, name, hash_key, range_key, projection in (
        ("alert-schedules", "due-alerts", "due_alert_type", "next_run_at", "ALL"),
        ("parcels", "pending-alerts", "pending_company", "pending_since", "ALL"),
        ("parcels", "follow-ups", "followed_company", "followed_until", "KEYS_ONLY"),
        ("alerts", "by-recipient", "recipient_key", "created_at", "ALL"),
        ("receivables", "reminders-due", "remind_company", "remind_on", "ALL"),
        # the client's erasure (decision 0017): keys only, sparse where they can be
        ("receivables", "closed-by-client", "closed_client", "document_number", "KEYS_ONLY"),
        ("business-events", "by-client", "client_key", "event_key", "KEYS_ONLY"),
        ("parcels", "by-client", "client_key", None, "KEYS_ONLY"),
        ("subscriptions", "by-recipient", "recipient_key", None, "KEYS_ONLY"),
        ("send-jobs", "by-from-client", "from_client_key", None, "KEYS_ONLY"),
        ("send-jobs", "by-to-client", "to_client_key", None, "KEYS_ONLY"),
        ("message-keys", "by-client", "client_key", None, "KEYS_ONLY"),
    ):
        gsi = index(table, name)
        ranged = [{"AttributeName": range_key, "KeyType": "RANGE"}] if range_key else []
        assert gsi["KeySchema"] == [{"AttributeName": hash_key, "KeyType": "HASH"}, *ranged]
        assert gsi["Projection"] == {"ProjectionType": projection}


def test_subscriptions_expire_through_ttl(template: Json) -> None:
    # Given the tables
    tables = tables_by_name(template)
    # Then the subscriptions table deletes items by their "expires" attribute; so does the outbox
    # table (its rate-limit window counters), the password-attempts table (wrong bulk-send
    # passwords and lockouts) and the rate-limits table (public subscribe limits, domain notices a
    # day, automatic SMS replies a day per number), the webhook delivery log (30 days) and the
    # background history exports (two days, with their files' lifecycle rule), and no other table has TTL
    assert tables[PREFIX + "subscriptions"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires",
        "Enabled": True,
    }
    with_ttl = {name for name, t in tables.items() if "TimeToLiveSpecification" in t}
    assert with_ttl == {
        PREFIX + "subscriptions",
        PREFIX + "outboxes",
        PREFIX + "password-attempts",
        PREFIX + "rate-limits",
        PREFIX + "webhook-deliveries",
        PREFIX + "history-exports",
    }


def test_tracking_sweep_runs_every_minute(template: Json) -> None:
    # Given the functions Chalice generated from app.py
    functions = resources_of_type(template, "AWS::Serverless::Function")
    # (a blueprint function's handler is its module path: chalicelib.events.schedules.<name>)
    sweep = [f for f in functions.values() if f["Properties"]["Handler"].endswith(".sweep_tracking_alerts")]
    # Then sweep_tracking_alerts has its own function, fired by an EventBridge rule each minute
    assert len(sweep) == 1
    schedules = [e["Properties"]["Schedule"] for e in sweep[0]["Properties"]["Events"].values()]
    assert schedules == ["rate(1 minute)"]


def test_sending_domains_are_checked_every_hour_from_their_own_function_with_an_alarm(template: Json) -> None:
    # Given the functions Chalice generated from app.py, and the alarms
    functions = resources_of_type(template, "AWS::Serverless::Function")
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    check = {
        k: f for k, f in functions.items() if f["Properties"]["Handler"].endswith(".check_sending_domains")
    }
    # Then check_sending_domains has its own function, fired by an EventBridge rule each hour
    assert len(check) == 1
    [(function_id, function)] = check.items()
    schedules = [e["Properties"]["Schedule"] for e in function["Properties"]["Events"].values()]
    assert schedules == ["rate(1 hour)"]
    # And it has 5 minutes: every registered domain is listed, each batch of 100 read from SES
    assert function["Properties"]["Timeout"] == 300
    # And it lists them from the sparse index of the registered domains, with their company's id
    # (decision 0021), not from every company's listing
    [registered] = [
        i
        for i in tables_by_name(template)[PREFIX + "sender-domains"]["GlobalSecondaryIndexes"]
        if i["IndexName"] == "registered"
    ]
    assert registered["KeySchema"] == [
        {"AttributeName": "registered", "KeyType": "HASH"},
        {"AttributeName": "domain", "KeyType": "RANGE"},
    ]
    assert registered["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["company_id"]}
    # And it sends its notices from the stage's own notice address
    assert (
        function["Properties"]["Environment"]["Variables"]["PREGON_NOTICE_FROM"]
        == "avisos@pregon.example.com"
    )
    # And an alarm rings when it fails
    assert alarms[f"{function_id}ErrorsAlarm"]["Properties"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": function_id}}
    ]


def test_sms_credit_is_checked_daily_from_its_own_function_with_an_alarm(template: Json) -> None:
    # Given the functions Chalice generated from app.py, and the alarms
    functions = resources_of_type(template, "AWS::Serverless::Function")
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    [(function_id, function)] = [
        (k, f) for k, f in functions.items() if f["Properties"]["Handler"].endswith(".check_sms_credit")
    ]
    # Then check_sms_credit is fired by an EventBridge rule each day, with 5 minutes to run
    schedules = [e["Properties"]["Schedule"] for e in function["Properties"]["Events"].values()]
    assert schedules == ["rate(1 day)"]
    assert function["Properties"]["Timeout"] == 300
    # And an alarm rings when it fails
    assert alarms[f"{function_id}ErrorsAlarm"]["Properties"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": function_id}}
    ]
    # And the companies it reads are listed by the sparse index of the SMS settings, keys only
    [gsi] = [
        i
        for i in tables_by_name(template)[PREFIX + "sms-settings"]["GlobalSecondaryIndexes"]
        if i["IndexName"] == "credit-checks"
    ]
    assert gsi["KeySchema"] == [{"AttributeName": "credit_watch", "KeyType": "HASH"}]
    assert gsi["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_sms_delivery_reports_are_read_every_minute_from_their_own_function_with_an_alarm(
    template: Json,
) -> None:
    # Given the functions Chalice generated from app.py, and the alarms
    functions = resources_of_type(template, "AWS::Serverless::Function")
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    [(function_id, function)] = [
        (k, f) for k, f in functions.items() if f["Properties"]["Handler"].endswith(".check_sms_deliveries")
    ]
    # Then check_sms_deliveries is fired by an EventBridge rule every minute (decision 0023)
    schedules = [e["Properties"]["Schedule"] for e in function["Properties"]["Events"].values()]
    assert schedules == ["rate(1 minute)"]
    # And an alarm rings when it fails
    assert alarms[f"{function_id}ErrorsAlarm"]["Properties"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": function_id}}
    ]


def test_sender_passwords_have_a_rotating_kms_key(template: Json) -> None:
    # Given the KMS resources
    keys = resources_of_type(template, "AWS::KMS::Key")
    aliases = resources_of_type(template, "AWS::KMS::Alias")
    # Then one key rotates and is kept if the stack goes, and its alias is the one functions use
    assert len(keys) == 1
    key_id, key = next(iter(keys.items()))
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    [alias] = aliases.values()
    assert alias["Properties"] == {"AliasName": "alias/pregon-prod-secrets", "TargetKeyId": {"Ref": key_id}}
    for function in resources_of_type(template, "AWS::Serverless::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["PREGON_KMS_KEY_ID"] == (
            "alias/pregon-prod-secrets"
        )


def test_functions_get_their_configuration_and_no_literal_secret(template: Json) -> None:
    # Given every function of the stack
    functions = resources_of_type(template, "AWS::Serverless::Function")
    assert functions
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        # Then each has the stage's settings
        assert variables["PREGON_STAGE"] == "prod", name
        assert variables["PREGON_TABLE_PREFIX"] == PREFIX, name
        for setting in (
            "PREGON_PUBLIC_BASE_URL",
            "PREGON_JWT_ISSUER",
            "PREGON_JWT_AUDIENCE",
            "PREGON_JWKS_URL",
        ):
            assert variables[setting], (name, setting)
        assert variables["POWERTOOLS_SERVICE_NAME"] == "pregon"
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Pregon"
        # And the link signing keys never come from config (SAM Globals inject them)
        assert "PREGON_LINK_SIGNING_KEY" not in variables, name
        assert "PREGON_LINK_SIGNING_KEYS_PREVIOUS" not in variables, name
    # And the injected values, the key and the keys it replaced (rotation), are deploy-time
    # references to generated Secrets Manager secrets
    injected = template["Globals"]["Function"]["Environment"]["Variables"]
    assert injected == {
        "PREGON_LINK_SIGNING_KEY": {
            "Fn::Sub": "{{resolve:secretsmanager:${LinkSigningKeySecret}:SecretString}}"
        },
        "PREGON_LINK_SIGNING_KEYS_PREVIOUS": {
            "Fn::Sub": "{{resolve:secretsmanager:${LinkSigningKeysPreviousSecret}:SecretString}}"
        },
        # And a stack parameter that the deploy after a rotation changes, so every function is
        # updated and resolves the secrets again
        "PREGON_LINK_SIGNING_KEYS_DEPLOYED": {"Ref": "LinkSigningKeysDeployed"},
    }
    assert template["Parameters"]["LinkSigningKeysDeployed"]["Type"] == "String"
    for secret_id in ("LinkSigningKeySecret", "LinkSigningKeysPreviousSecret"):
        secret = template["Resources"][secret_id]
        assert secret["Type"] == "AWS::SecretsManager::Secret"
        assert secret["Properties"]["GenerateSecretString"]["ExcludePunctuation"] is True  # no comma
        assert "SecretString" not in secret["Properties"]


def test_function_roles_are_least_privilege(template: Json) -> None:
    # Given the policies of every function role (autogen_policy is off: Chalice uses ours)
    policies = role_policies(template)
    functions = resources_of_type(template, "AWS::Serverless::Function")
    assert len(policies) == len(functions)
    table_ids = set(resources_of_type(template, "AWS::DynamoDB::Table"))
    for policy in policies:
        statements = policy["Statement"]
        for statement in statements:
            actions = as_list(statement["Action"])
            resources = as_list(statement["Resource"])
            # Then the only Deny narrows SMS publishing, and no statement grants every action
            assert statement["Effect"] == "Allow" or statement["Sid"] == "NoTopicPublish", statement
            assert not any(a == "*" or a.endswith(":*") for a in actions), statement
            # And "*" is only where the service has no resource-level permissions: X-Ray, SNS SMS
            # to phone numbers (with topics denied), SES v1 identity set-up (sending domains)
            if "*" in resources:
                assert all(
                    a.startswith("xray:") or a == "sns:Publish" or a in synth.SENDING_DOMAIN_ACTIONS
                    for a in actions
                ), statement
        dynamodb = [s for s in statements if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]
        # And DynamoDB is reachable only on Pregón's own tables and their indexes, without Scan
        referenced: set[str] = set()
        for statement in dynamodb:
            assert "dynamodb:Scan" not in statement["Action"]
            for resource in as_list(statement["Resource"]):
                assert isinstance(resource, dict), resource
                if "Fn::GetAtt" in resource:
                    table_id, attribute = resource["Fn::GetAtt"]
                    assert attribute == "Arn"
                else:
                    sub = resource["Fn::Sub"]
                    assert sub.endswith(".Arn}/index/*"), sub
                    table_id = sub.removeprefix("${").removesuffix(".Arn}/index/*")
                referenced.add(table_id)
        assert referenced == table_ids
        # And PartiQL only selects a due parcel's followers by their partitions (never a scan), and
        # only inserts and updates messages (the outbox's batches without a transaction)
        partiql = [s for s in dynamodb if any(a.startswith("dynamodb:PartiQL") for a in as_list(s["Action"]))]
        assert [(s["Action"], s.get("Condition"), s["Resource"]) for s in partiql] == [
            (
                ["dynamodb:PartiQLSelect"],
                {"Bool": {"dynamodb:FullTableScan": "false"}},
                {"Fn::GetAtt": ["SubscriptionsTable", "Arn"]},
            ),
            (
                ["dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate"],
                None,
                {"Fn::GetAtt": ["CommunicationsTable", "Arn"]},
            ),
        ]
        # And KMS is limited to the stack's key: sender passwords and encrypted queues' data keys
        kms = [s for s in statements if any(a.startswith("kms:") for a in as_list(s["Action"]))]
        assert kms == [
            {
                "Sid": "StackKey",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": {"Fn::GetAtt": ["SecretsKey", "Arn"]},
            }
        ]
        # And mail goes out through SES only; sending domains are created, read and deleted, nothing else
        ses_actions = {a for s in statements for a in as_list(s["Action"]) if a.startswith("ses:")}
        assert ses_actions == {"ses:SendEmail", "ses:SendRawEmail"} | set(synth.SENDING_DOMAIN_ACTIONS)
        # And SNS may publish SMS and push, manage push endpoints, and publish to none of the
        # stack's own topics (which carry SES events and inbound mail and SMS)
        sns = {s["Sid"]: s for s in statements if any(a.startswith("sns:") for a in as_list(s["Action"]))}
        topics = [{"Ref": t} for t in sorted(resources_of_type(template, "AWS::SNS::Topic"))]
        assert set(sns) == {"SendSms", "PushEndpoints"} | ({"NoTopicPublish"} if topics else set())
        assert sns["SendSms"]["Action"] == "sns:Publish"
        if topics:
            assert sns["NoTopicPublish"]["Effect"] == "Deny" and sns["NoTopicPublish"]["Resource"] == topics


def test_deployment_zip_ships_code_and_templates(out_dir: Path) -> None:
    # Given the deployment package next to the template
    with zipfile.ZipFile(out_dir / "deployment.zip") as package:
        names = set(package.namelist())
    # Then it holds the app and chalicelib
    assert "app.py" in names
    code = {p.relative_to(ROOT).as_posix() for p in (ROOT / "chalicelib").rglob("*.py")}
    assert code and code <= names
    # And the staff console's files (W2), which the app serves from chalicelib/console/
    console = {p.relative_to(ROOT).as_posix() for p in (ROOT / "chalicelib" / "console").iterdir()}
    assert "chalicelib/console/app.js" in console and console <= names
    # And every default template of the repo, at templates/ (through vendor/templates)
    templates = {p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*") if p.is_file()}
    assert "templates/es/tracking_alert.subject.txt" in templates
    assert templates <= names
    # And the locked runtime dependencies, but nothing that is not the app
    assert any(n.startswith("pynamodb/") for n in names)
    assert not any(n.startswith(("tests/", "infrastructure/", "bench/")) for n in names)


def test_test_stage_uses_its_own_names_and_is_not_protected() -> None:
    # Given the test stage's configuration
    config = synth.stage_config(ROOT, "test")
    # When its merge template is generated (no packaging)
    template, policy = synth.merge_template("test", config)
    # Then its tables, key alias and secret are the test stage's, and can be deleted
    tables = tables_by_name(template)
    assert set(tables) == {"pregon-test-" + synth.base_table_names()[m] for m in models.ALL_MODELS}
    assert all(t["DeletionProtectionEnabled"] is False for t in tables.values())
    resources = template["Resources"]
    assert resources["SecretsKeyAlias"]["Properties"]["AliasName"] == "alias/pregon-test-secrets"
    assert resources["LinkSigningKeySecret"]["Properties"]["Name"] == "pregon/test/link-signing-key"
    assert (
        resources["LinkSigningKeysPreviousSecret"]["Properties"]["Name"]
        == "pregon/test/link-signing-keys-previous"
    )
    assert policy["Statement"][0]["Sid"] == "PregonTables"


def test_every_queue_and_topic_the_app_listens_to_exists(template: Json) -> None:
    from infrastructure.aws.synth import app_event_sources

    # Given the app's SQS and SNS handlers
    queues, topics = app_event_sources()
    created_queues = {
        r["Properties"]["QueueName"]: r
        for r in resources_of_type(template, "AWS::SQS::Queue").values()
        if isinstance(r["Properties"]["QueueName"], str)  # not the stack-named async failures queue
    }
    created_topics = {
        r["Properties"]["TopicName"]
        for r in resources_of_type(template, "AWS::SNS::Topic").values()
        if isinstance(r["Properties"]["TopicName"], str)  # not the stack-named alarms topic
    }
    # Then each queue exists with a dead-letter queue, and each topic exists
    assert queues, "the outbox worker listens to a queue"
    names = {source.queue for source in queues}
    for source in queues:
        queue = created_queues[source.queue]
        if source.queue.removesuffix("-dead") in names - {source.queue}:
            # another queue's dead letters, read by a function: it waits as long as that function may run
            assert queue["Properties"]["VisibilityTimeout"] >= 300
            continue
        assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
        assert f"{source.queue}-dead" in created_queues
    assert {source.topic for source in topics} <= created_topics


def test_files_bucket_is_private_and_ses_publishes_delivery_events(template: Json) -> None:
    # Given the buckets and SES resources
    buckets = resources_of_type(template, "AWS::S3::Bucket")
    sets = resources_of_type(template, "AWS::SES::ConfigurationSet")
    # Then the files bucket blocks every public access, and the configuration set is the one
    # the functions name when they send through SES
    block = buckets["FilesBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(block.values())
    # And the history's background exports (tagged so) are deleted after the two days their link works
    rules = buckets["FilesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    [exports] = [r for r in rules if r.get("TagFilters") == [{"Key": "pregon-purpose", "Value": "exports"}]]
    assert (exports["Status"], exports["ExpirationInDays"]) == ("Enabled", 2)
    # And an access report's join stopped half-way (its multipart upload) goes after as long
    [incomplete] = [r for r in rules if "AbortIncompleteMultipartUpload" in r]
    assert incomplete["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    [configuration_set] = sets.values()
    assert configuration_set["Properties"]["Name"] == "pregon-prod-events"


def test_ses_events_reach_their_function_through_a_queue_in_batches(template: Json) -> None:
    # Given the SES events topic, the configuration set's destination and the ses_events function
    resources = template["Resources"]
    [topic_id] = [
        rid
        for rid, r in resources_of_type(template, "AWS::SNS::Topic").items()
        if r["Properties"]["TopicName"] == "pregon-ses-events"
    ]
    [destination] = resources_of_type(template, "AWS::SES::ConfigurationSetEventDestination").values()
    [subscription] = [
        r["Properties"]
        for r in resources_of_type(template, "AWS::SNS::Subscription").values()
        if r["Properties"]["TopicArn"] == {"Ref": topic_id}
    ]
    [event] = resources["SesEvents"]["Properties"]["Events"].values()
    # Then SES publishes to the topic, which delivers raw into an encrypted queue with a dead-letter queue
    assert destination["Properties"]["EventDestination"]["SnsDestination"]["TopicARN"] == {"Ref": topic_id}
    assert subscription["Protocol"] == "sqs" and subscription["RawMessageDelivery"] is True
    queue_id = subscription["Endpoint"]["Fn::GetAtt"][0]
    queue = resources[queue_id]["Properties"]
    assert queue["QueueName"] == "pregon-ses-feedback" and queue["KmsMasterKeyId"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] in resources
    # And only that topic may send to the queue
    [policy] = [
        r["Properties"]
        for r in resources_of_type(template, "AWS::SQS::QueuePolicy").values()
        if r["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": topic_id}}}
    # And the function reads it ten at a time, reporting only the records to try again
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"]["Fn::Sub"].endswith(":pregon-ses-feedback")
    assert event["Properties"]["BatchSize"] == 10
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_inbound_mail_is_stored_in_s3_and_announced_on_the_topic_the_app_listens_to(template: Json) -> None:
    # Given the SES receipt rule
    [rule] = resources_of_type(template, "AWS::SES::ReceiptRule").values()
    [action] = rule["Properties"]["Rule"]["Actions"]
    topics = resources_of_type(template, "AWS::SNS::Topic")
    # Then mail for the inbound domain goes to the inbound bucket, and SES notifies the topic
    # that the inbound-mail handler is subscribed to
    assert rule["Properties"]["Rule"]["Recipients"] == ["inbound.pregon.example.com"]
    assert action["S3Action"]["BucketName"] == {"Ref": "InboundMailBucket"}
    topic_id = action["S3Action"]["TopicArn"]["Ref"]
    assert topics[topic_id]["Properties"]["TopicName"] == "pregon-inbound-mail"
    # And only SES (of this account) may write into that bucket
    policy = resources_of_type(template, "AWS::S3::BucketPolicy")["InboundMailBucketPolicy"]
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (
        statement["Principal"] == {"Service": "ses.amazonaws.com"} and statement["Action"] == "s3:PutObject"
    )
    # And raw mail that no record names (held, not released) is deleted 40 days after it came, 30
    # for staff to release it and a margin; a record's raw mail, untagged, never expires
    bucket = resources_of_type(template, "AWS::S3::Bucket")["InboundMailBucket"]["Properties"]
    expiring = [r for r in bucket["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
    assert [(r["TagFilters"], r["ExpirationInDays"], r["Status"]) for r in expiring] == [
        ([{"Key": "pregon-purpose", "Value": "unrecorded-mail"}], 40, "Enabled")
    ]
    # And the functions may tag it so, and untag it when staff release it
    for policy in role_policies(template):
        [inbound] = [s for s in policy["Statement"] if s.get("Sid") == "InboundMail"]
        assert "s3:PutObjectTagging" in as_list(inbound["Action"])


# --- operating it (issue 14): alarms, dashboard, and what a security reviewer checks -------------

CHECKOV = "checkov==3.3.30"


def alarms(template: Json) -> list[Json]:
    return [a["Properties"] for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()]


def alarmed(template: Json, namespace: str, metric: str) -> set[Any]:
    """What the alarms on one metric watch: the value of their one dimension."""
    return {
        json.dumps(a["Dimensions"][0]["Value"], sort_keys=True)
        for a in alarms(template)
        if a.get("Namespace") == namespace and a.get("MetricName") == metric and a["Dimensions"]
    }


def test_every_dead_letter_queue_and_every_function_has_an_alarm(template: Json) -> None:
    # Given the queues that park failures (redrive targets, and where async invocations go)
    resources = template["Resources"]
    queues = resources_of_type(template, "AWS::SQS::Queue")
    dead = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    async_targets = {
        f["Properties"]["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0]
        for f in resources_of_type(template, "AWS::Serverless::Function").values()
        if "DeadLetterQueue" in f["Properties"]
    }
    assert dead and async_targets
    # Then each has an alarm on messages waiting in it
    watched = alarmed(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert watched == {json.dumps({"Fn::GetAtt": [q, "QueueName"]}) for q in dead | async_targets}
    # And every function has an error alarm and a throttle alarm
    functions = {json.dumps({"Ref": f}) for f in resources_of_type(template, "AWS::Serverless::Function")}
    assert alarmed(template, "AWS/Lambda", "Errors") == functions
    assert alarmed(template, "AWS/Lambda", "Throttles") == functions
    # And every table's throttles, SES reputation, failed sends and the outbox's age are watched
    throttles = [a for a in alarms(template) if "dynamodb-throttles" in a["AlarmDescription"]]
    assert len(throttles) == len(resources_of_type(template, "AWS::DynamoDB::Table"))
    names = {a.get("MetricName") for a in alarms(template)}
    assert {"Reputation.BounceRate", "Reputation.ComplaintRate", "OutboxAgeSeconds"} <= names
    # And so is an SMS delivery report given up (its SMS stays sent for ever), on the dimension the
    # check's metrics carry (Powertools' service)
    assert alarmed(template, "Pregon", "SmsReportsUnread") == {json.dumps("pregon")}
    assert any("sends-fail" in a["AlarmDescription"] for a in alarms(template))
    # And every alarm tells the operator topic, which functions may not publish to
    for alarm in alarms(template):
        assert alarm["AlarmActions"] == [{"Ref": "OperatorAlarmsTopic"}]
    for policy in role_policies(template):
        deny = next(s for s in policy["Statement"] if s["Sid"] == "NoTopicPublish")
        assert {"Ref": "OperatorAlarmsTopic"} in deny["Resource"]
    assert resources["OperatorAlarmsSubscription"]["Condition"] == "HasOperatorEmail"


def test_every_alarm_names_a_runbook_step_that_exists(template: Json) -> None:
    # Given the synthesized alarms and docs/operations.md
    runbook = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in runbook.splitlines()
        if line.startswith("#")
    }
    # Then each alarm's description links a heading of the runbook
    for alarm in alarms(template):
        step = alarm["AlarmDescription"].split("Runbook: docs/operations.md#")[1]
        assert step in anchors, (step, sorted(anchors))


def test_the_dashboard_shows_sent_failed_queued_per_channel_and_the_outbox_age(template: Json) -> None:
    dashboard = resources_of_type(template, "AWS::CloudWatch::Dashboard")["OperationsDashboard"]
    body = json.loads(dashboard["Properties"]["DashboardBody"]["Fn::Sub"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    plotted = {tuple(m[:2]) + tuple(m[4:6]) for w in body["widgets"] for m in w["properties"]["metrics"]}
    for metric in ("MessagesSent", "MessagesFailed", "MessagesQueued", "OutboxAgeSeconds"):
        for channel in ("email", "sms", "push"):
            assert ("Pregon", metric, "Channel", channel) in plotted, (metric, channel, titles)


@pytest.mark.timeout(900)  # as cfn-lint's: CPU-bound, and the machine may be shared
def test_checkov_finds_nothing_that_is_not_explained(out_dir: Path) -> None:
    # Given the synthesized prod template
    # When Checkov checks it as a security reviewer would (offline: no platform download)
    result = subprocess.run(
        [
            "uv", "tool", "run", "--from", CHECKOV, "checkov",
            "-f", str(out_dir / "sam.json"), "--framework", "cloudformation",
            "-o", "json", "--skip-download", "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    report = json.loads(result.stdout)
    results = (report[0] if isinstance(report, list) else report).get("results", {})
    failed = [(c["check_id"], c["resource"]) for c in results.get("failed_checks", [])]
    # Then nothing fails, and every check skipped in the template says why
    assert failed == [], failed
    for skipped in results.get("skipped_checks", []):
        assert len(skipped["check_result"].get("suppress_comment", "")) > 20, skipped


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PREGON_PUBLIC_BASE_URL", "http://pregon.example.com"),
        ("PREGON_PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        ("PREGON_JWKS_URL", "http://cognito-idp.us-east-1.amazonaws.com/pool/.well-known/jwks.json"),
        ("PREGON_COGNITO_DOMAIN", "http://pregon-prod.auth.us-east-1.amazoncognito.com"),
    ],
)
def test_a_stage_whose_links_or_keys_would_travel_over_plain_http_is_not_synthesized(
    tmp_path: Path, name: str, value: str
) -> None:
    # Given the prod stage's configuration with one URL setting on plain HTTP (even this machine's:
    # a deployed stage has no localhost)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    config["stages"]["prod"]["environment_variables"][name] = value
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    # When it is read for synthesis
    with pytest.raises(SystemExit) as refused:
        synth.stage_config(tmp_path, "prod")
    # Then the synthesis stops, naming the setting and the https:// it needs
    assert name in str(refused.value) and "https://" in str(refused.value)


@pytest.mark.parametrize("value", ["Pregón <avisos@pregon.example.com>", "avisos", "avisos@pregón.example"])
def test_a_stage_whose_notice_sender_is_not_a_plain_address_is_not_synthesized(
    tmp_path: Path, value: str
) -> None:
    # Given the prod stage's configuration with a notice sender that is not a plain ASCII address
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    config["stages"]["prod"]["environment_variables"]["PREGON_NOTICE_FROM"] = value
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    # When it is read for synthesis
    with pytest.raises(SystemExit) as refused:
        synth.stage_config(tmp_path, "prod")
    # Then the synthesis stops, naming the setting
    assert "PREGON_NOTICE_FROM must be a plain ASCII e-mail address" in str(refused.value)


def test_a_stage_whose_notice_sender_is_on_its_inbound_domain_is_not_synthesized(tmp_path: Path) -> None:
    # Given the prod stage's configuration with a notice sender on its inbound domain, where the
    # administrators' replies would reach the inbound mailbox of the company named "acme"
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    variables = config["stages"]["prod"]["environment_variables"]
    variables["PREGON_NOTICE_FROM"] = f"acme@{variables['PREGON_INBOUND_DOMAIN']}"
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    # When it is read for synthesis
    with pytest.raises(SystemExit) as refused:
        synth.stage_config(tmp_path, "prod")
    # Then the synthesis stops, naming the setting and the domain it may not be on
    assert "PREGON_NOTICE_FROM must not be on PREGON_INBOUND_DOMAIN" in str(refused.value)


@pytest.mark.parametrize("name", ["PREGON_LINK_SIGNING_KEY", "PREGON_LINK_SIGNING_KEYS_PREVIOUS"])
def test_a_stage_that_writes_a_link_signing_key_in_its_configuration_is_not_synthesized(
    tmp_path: Path, name: str
) -> None:
    # Given the prod stage's configuration with a link-signing key written in it (it would be in git)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    config["stages"]["prod"]["environment_variables"][name] = "k" * 48
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    # When it is read for synthesis
    with pytest.raises(SystemExit) as refused:
        synth.stage_config(tmp_path, "prod")
    # Then the synthesis stops, naming the setting and where it comes from instead
    assert f"{name} comes from Secrets Manager" in str(refused.value)
    assert "k" * 48 not in str(refused.value)


def test_a_bulk_page_has_four_minutes_and_its_queue_waits_six_times_each_workers_timeout(
    template: Json,
) -> None:
    from chalicelib.core.settings import Settings
    from chalicelib.records.erasure import PAGE_SECONDS

    # Given the functions that SQS invokes, and the queues by name
    functions = resources_of_type(template, "AWS::Serverless::Function")
    queues = {
        r["Properties"]["QueueName"]: r
        for r in resources_of_type(template, "AWS::SQS::Queue").values()
        if isinstance(r["Properties"]["QueueName"], str)
    }
    read_by = {
        name: [
            e["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[1]
            for e in (function["Properties"].get("Events") or {}).values()
            if e.get("Type") == "SQS"
        ]
        for name, function in functions.items()
    }
    read_by = {name: names for name, names in read_by.items() if names}
    # Then a send job's page worker (which renders up to 50 statement PDFs: docs/documents.md) has
    # 240 s, under a page's lease (a page is asked for again only after its worker stopped), and
    # as long as an erasure waits for the pages that may have read the company before it started
    assert functions["ExpandSendJob"]["Properties"]["Timeout"] == 240 == PAGE_SECONDS
    lease = Settings.__dataclass_fields__["outbox_lease_seconds"].default
    assert isinstance(lease, int) and lease > 240
    # And every queue a function reads keeps a message hidden six times that function's timeout
    assert set(read_by) >= {"ExpandSendJob", "DeliverOutbox", "SyncMailbox"}
    for name, names in read_by.items():
        for queue in names:
            visibility = queues[queue]["Properties"]["VisibilityTimeout"]
            assert visibility >= 6 * functions[name]["Properties"]["Timeout"], (name, queue)


def test_a_mailbox_sync_stops_talking_to_its_imap_server_30_s_before_its_function_times_out(
    template: Json,
) -> None:
    from chalicelib.records.mailboxes import sync

    # Given the function that syncs one mailbox
    timeout = resources_of_type(template, "AWS::Serverless::Function")["SyncMailbox"]["Properties"]["Timeout"]
    # Then its deadlines on the IMAP server (logging in, then all it says) end after the moment it
    # starts no new batch, and 30 s before the function is stopped: the time to write what it read
    assert sync.LOGIN_SECONDS <= sync.SESSION_SECONDS <= timeout - 30
    assert sync.sync_seconds() < sync.SESSION_SECONDS


def test_every_function_that_sends_outlives_its_longest_drain(template: Json) -> None:
    from chalicelib.channels.base import SEND_SECONDS
    from chalicelib.messaging.delivery import DRAIN_GRACE_SECONDS, SEND_MARGIN, WAKE_SECONDS

    # Given the functions that drain an outbox: the outbox worker (for its drain time) and the
    # minute schedule (for the time it drains itself), and the last writes after the last send
    functions = {
        name: f["Properties"]
        for name, f in resources_of_type(template, "AWS::Serverless::Function").items()
        if f["Properties"]["Handler"].endswith((".deliver_outbox", ".wake_outboxes"))
    }
    (worker,) = (p for p in functions.values() if p["Handler"].endswith(".deliver_outbox"))
    (schedule,) = (p for p in functions.values() if p["Handler"].endswith(".wake_outboxes"))
    drain = int(worker["Environment"]["Variables"]["PREGON_DRAIN_SECONDS"])
    last_writes = 30
    # Then neither is stopped by Lambda in the middle of a send: the last send starts at most the
    # drain's grace after its time is up, and takes at most SEND_SECONDS
    assert worker["Timeout"] >= drain + DRAIN_GRACE_SECONDS + SEND_SECONDS + last_writes
    assert schedule["Timeout"] >= WAKE_SECONDS + DRAIN_GRACE_SECONDS + SEND_SECONDS + last_writes
    # And a hand-off's last send ends before its lease: the lease leaves room for the margin
    lease = int(worker["Environment"]["Variables"].get("PREGON_OUTBOX_LEASE_SECONDS", "300"))
    assert SEND_MARGIN.total_seconds() >= SEND_SECONDS + 10
    assert lease > SEND_MARGIN.total_seconds() + 60
