"""Synthesize Pregón's AWS deployment into a CloudFormation (SAM) template, offline.

    uv run python -m infrastructure.aws.synth --stage prod --out infrastructure/out

Chalice generates the Lambda functions, the REST API and the EventBridge schedules from
``app.py``; this module generates everything Chalice does not know about and merges it in:

- one DynamoDB table per PynamoDB model in ``chalicelib.store.models.ALL_MODELS``, built from
  the model's own schema (the one ``create_table`` uses locally), so tables cannot drift;
- the KMS key (and alias) that encrypts sender passwords;
- the Secrets Manager secret holding the unsubscribe-link signing key;
- the SQS queues (each with a dead-letter queue) and SNS topics the app's ``on_sqs_message`` /
  ``on_sns_message`` handlers listen to, read from the app itself so none can be forgotten;
- the S3 buckets for files (attachments) and inbound mail, the SES configuration set that
  publishes delivery, bounce and complaint events, and the SES receipt rule for inbound mail;
- the least-privilege policy of every function role (``autogen_policy`` is off in prod/test).

The output directory gets ``sam.json`` (the template to lint, package and deploy),
``deployment.zip`` (code + dependencies exported from ``uv.lock``), and, for review,
``merge.json`` and ``lambda-policy.json``. Nothing is written into the repository except
Chalice's own dependency cache under ``.chalice/deployments/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess  # nosec B404 # argument lists only, never a shell (each call marked)
import sys
from pathlib import Path
from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from infrastructure.aws.operations import operate

ROOT = Path(__file__).resolve().parents[2]

Json = dict[str, Any]

# What the code does with DynamoDB (store/): point reads, queries, conditional and
# transactional writes, batches. Deliberately no Scan: sweeps go through sparse indexes. PartiQL
# only where the code uses it (``_partiql_statements``).
DYNAMODB_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]

KMS_KEY_ID = "SecretsKey"
LINK_SIGNING_SECRET_ID = "LinkSigningKeySecret"  # nosec B105 # a CloudFormation logical id, not a secret
LINK_SIGNING_PREVIOUS_SECRET_ID = "LinkSigningKeysPreviousSecret"  # nosec B105 # a CloudFormation logical id, not a secret
# The link-signing keys: each comes from its Secrets Manager secret at deploy time, never from
# config.json (in git, and shown by `aws lambda get-function-configuration` as written there).
# The stack parameter a rotation changes on its deploy (docs/operations.md).
LINK_KEYS_DEPLOYED_PARAMETER = "LinkSigningKeysDeployed"
LINK_KEY_SECRETS = {
    "PREGON_LINK_SIGNING_KEY": LINK_SIGNING_SECRET_ID,
    "PREGON_LINK_SIGNING_KEYS_PREVIOUS": LINK_SIGNING_PREVIOUS_SECRET_ID,
}


def logical_id(base_name: str, suffix: str) -> str:
    """``api-keys`` -> ``ApiKeysTable``: a CloudFormation logical id (alphanumeric)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", base_name) if part) + suffix


# The stage's settings that hold a URL people or secrets are sent to (links in e-mails, the token
# issuer's keys, the console's sign-in): https:// only (core.settings.url_setting_problem).
URL_SETTINGS = (
    "PREGON_PUBLIC_BASE_URL",
    "PREGON_JWKS_URL",
    "PREGON_CONSOLE_IDENTITY_URL",
    "PREGON_COGNITO_DOMAIN",
    "PREGON_MICROSOFT_LOGIN_URL",
    "PREGON_GOOGLE_TOKEN_URL",
)


def stage_config(project_dir: Path, stage: str) -> Json:
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    try:
        stage_settings = dict(config["stages"][stage])
    except KeyError:
        raise SystemExit(f"stage {stage!r} is not in .chalice/config.json") from None
    variables = {**config.get("environment_variables", {}), **stage_settings.get("environment_variables", {})}
    check_url_settings(variables)
    check_notice_sender(variables)
    check_no_link_keys(variables)
    return stage_settings


def check_no_link_keys(variables: Json) -> None:
    """Refuse a stage that writes a link-signing key in config.json: the keys come from their
    secrets (``link_signing_secret``), so none is in git nor in a deploy's logs."""
    for name in LINK_KEY_SECRETS:
        if name in variables:
            raise SystemExit(
                f".chalice/config.json: {name} comes from Secrets Manager; remove it from the file"
            )


def check_notice_sender(variables: Json) -> None:
    """Refuse a stage whose ``PREGON_NOTICE_FROM`` (Pregón's own notices to companies'
    administrators) is not a plain ASCII address on Pregón's mail domain (nor on its inbound domain):
    its scheduled check would fail on every notice."""
    from chalicelib.core.settings import notice_sender_problem

    value = str(variables.get("PREGON_NOTICE_FROM") or "").strip()
    problem = (
        notice_sender_problem(
            "PREGON_NOTICE_FROM",
            value,
            mail_domain=str(variables.get("PREGON_MAIL_DOMAIN") or "pregon.local"),
            inbound_domain=str(variables.get("PREGON_INBOUND_DOMAIN") or "inbound.pregon.local"),
        )
        if value
        else None
    )
    if problem:
        raise SystemExit(f".chalice/config.json: {problem}")


def check_url_settings(variables: Json) -> None:
    """Refuse a stage whose URL settings are not https:// (a deployed stage has no localhost)."""
    from chalicelib.core.settings import url_setting_problem

    for name in URL_SETTINGS:
        value = str(variables.get(name) or "").strip()
        if not value:
            continue
        url = value if name != "PREGON_COGNITO_DOMAIN" or "://" in value else f"https://{value}"
        problem = url_setting_problem(name, url)
        if problem or not url.startswith("https://"):
            raise SystemExit(f".chalice/config.json: {problem or f'{name} must be an https:// URL'}")


def stage_variable(config: Json, name: str) -> str:
    value = config.get("environment_variables", {}).get(name)
    if not value:
        raise SystemExit(f"the stage needs environment variable {name} in .chalice/config.json")
    return str(value)


# --- DynamoDB tables, from the PynamoDB models ---------------------------------------------


def _key_schema(keys: list[Json]) -> list[Json]:
    # CloudFormation wants HASH before RANGE; PynamoDB does not always list them that way.
    ordered = sorted(keys, key=lambda k: k["KeyType"] != "HASH")
    return [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in ordered]


def _projection(projection: Json) -> Json:
    out: Json = {"ProjectionType": projection["ProjectionType"]}
    if projection.get("NonKeyAttributes"):
        out["NonKeyAttributes"] = list(projection["NonKeyAttributes"])
    return out


def ttl_attribute(model: type[Model]) -> str | None:
    for name, attribute in model.get_attributes().items():
        if isinstance(attribute, TTLAttribute):
            return attribute.attr_name or name
    return None


def table_resource(model: type[Model], table_name: str, *, protect: bool) -> Json:
    # The same schema PynamoDB's create_table sends (locally, in tests): keys, indexes, types.
    schema: Json = dict(model._get_schema())
    properties: Json = {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": sorted(
            (
                {"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
                for a in schema["attribute_definitions"]
            ),
            key=lambda a: str(a["AttributeName"]),
        ),
        "KeySchema": _key_schema(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "DeletionProtectionEnabled": protect,
        "Tags": [{"Key": "app", "Value": "pregon"}],
    }
    for schema_key, cfn_key in (
        ("global_secondary_indexes", "GlobalSecondaryIndexes"),
        ("local_secondary_indexes", "LocalSecondaryIndexes"),
    ):
        indexes = sorted(schema.get(schema_key) or [], key=lambda i: str(i["index_name"]))
        if indexes:
            properties[cfn_key] = [
                {
                    "IndexName": index["index_name"],
                    "KeySchema": _key_schema(index["key_schema"]),
                    "Projection": _projection(index["projection"]),
                }
                for index in indexes
            ]
    ttl = ttl_attribute(model)
    if ttl:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl, "Enabled": True}
    return {
        "Type": "AWS::DynamoDB::Table",
        # A stack update or delete must never take the data with it.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def base_table_names() -> dict[type[Model], str]:
    """Model -> base table name, as ``store.tables`` binds ``<prefix><base name>``.

    ``Meta.table_name`` holds the base name only until ``tables.bind()`` rewrites it, so read
    the mapping ``tables`` captured at import.
    """
    from chalicelib.store import models, tables

    return {model: tables.base_table_names()[model] for model in models.ALL_MODELS}


def table_resources(table_prefix: str, *, protect: bool) -> dict[str, Json]:
    resources: dict[str, Json] = {}
    for model, base in base_table_names().items():
        resources[logical_id(base, "Table")] = table_resource(model, table_prefix + base, protect=protect)
    return resources


# --- KMS, secrets, IAM ------------------------------------------------------------------


def secrets_key_resources(alias: str) -> dict[str, Json]:
    return {
        KMS_KEY_ID: {
            "Type": "AWS::KMS::Key",
            # Losing the key loses every stored sender password: keep it on stack delete.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": "Pregón: encrypts sender-account passwords (envelope per company)",
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            # The account administers the key through IAM; the function roles
                            # get Encrypt/Decrypt in their own policy (see lambda_policy).
                            "Sid": "AccountAdministersThroughIam",
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
                            },
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                },
                "Tags": [{"Key": "app", "Value": "pregon"}],
            },
        },
        "SecretsKeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": alias, "TargetKeyId": {"Ref": KMS_KEY_ID}},
        },
    }


def link_signing_secret(stage: str) -> dict[str, Json]:
    """The link-signing key's secret, and the secret of the keys it replaced (rotation: they still
    verify links already sent, docs/operations.md "Rotating the link-signing key"). The second
    starts as a random key no one has, which verifies nothing anyone signed: a secret cannot be
    empty, and the deploy-time reference needs one."""

    def secret(name: str, description: str) -> Json:
        return {
            "Type": "AWS::SecretsManager::Secret",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Name": f"pregon/{stage}/{name}",
                "Description": description,
                # No punctuation: no comma, which separates the previous keys.
                "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
                "Tags": [{"Key": "app", "Value": "pregon"}],
            },
        }

    return {
        LINK_SIGNING_SECRET_ID: secret(
            "link-signing-key", "Pregón: HMAC key that signs unsubscribe and tracking links"
        ),
        LINK_SIGNING_PREVIOUS_SECRET_ID: secret(
            "link-signing-keys-previous",
            "Pregón: link-signing keys a rotation replaced, comma-separated; they only verify old links",
        ),
    }


def _resource_name(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def app_event_sources() -> tuple[list[Any], list[Any]]:
    """The app's SQS and SNS handlers (Chalice event source configs), from ``app.py`` itself."""
    from chalice.app import SNSEventConfig, SQSEventConfig

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from app import app

    queues = [s for s in app.event_sources if isinstance(s, SQSEventConfig)]
    topics = [s for s in app.event_sources if isinstance(s, SNSEventConfig)]
    return queues, topics


def messaging_resources(stage: str, config: Json) -> tuple[dict[str, Json], dict[str, str]]:
    """Queues, topics, buckets and SES resources; returns them and the name -> logical id map."""
    from chalicelib.records.history.exports import KEPT_DAYS as EXPORT_KEPT_DAYS
    from chalicelib.records.history.exports import PURPOSE as EXPORTS_PURPOSE
    from chalicelib.records.inbound_flood import KEPT_DAYS as UNRECORDED_KEPT_DAYS
    from chalicelib.records.inbound_flood import UNRECORDED

    queues, topics = app_event_sources()
    resources: dict[str, Json] = {}
    ids: dict[str, str] = {}
    names = {s.queue for s in queues}
    for source in queues:
        if source.queue.endswith("-dead") and source.queue.removesuffix("-dead") in names:
            continue  # another queue's dead letters, read by a handler (e.g. give_up_history_export)
        queue_id = _resource_name(source.queue) + "Queue"
        dead_id = _resource_name(source.queue) + "DeadLetters"
        resources[dead_id] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": f"{source.queue}-dead", "MessageRetentionPeriod": 1209600},
        }
        if f"{source.queue}-dead" in names:
            # a function reads it: its visibility timeout covers that function's time
            resources[dead_id]["Properties"]["VisibilityTimeout"] = 1800
            ids[f"{source.queue}-dead"] = dead_id
        resources[queue_id] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": source.queue,
                # Six times the longest function timeout, as Lambda's SQS guidance asks.
                "VisibilityTimeout": 1800,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [dead_id, "Arn"]},
                    "maxReceiveCount": 5,
                },
            },
        }
        ids[source.queue] = queue_id
    for source in topics:
        topic_id = _resource_name(source.topic) + "Topic"
        resources[topic_id] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": source.topic}}
        ids[source.topic] = topic_id
    resources.update(_topics_into_queues(ids))
    files_bucket = stage_variable(config, "PREGON_FILES_BUCKET")
    resources["FilesBucket"] = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": files_bucket,
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            # Generated document PDFs (D3) a company keeps: gone after a year.
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "GeneratedDocuments",
                        "Status": "Enabled",
                        "TagFilters": [{"Key": "pregon-purpose", "Value": "documents"}],
                        "ExpirationInDays": 365,
                    },
                    # The history's background exports (H1): their link works for KEPT_DAYS.
                    {
                        "Id": "HistoryExports",
                        "Status": "Enabled",
                        "TagFilters": [{"Key": "pregon-purpose", "Value": EXPORTS_PURPOSE}],
                        "ExpirationInDays": EXPORT_KEPT_DAYS,
                    },
                    # A client's access report built in parts is joined by a multipart upload: one
                    # whose run was stopped half-way (nothing to abort it) goes after as long.
                    {
                        "Id": "IncompleteUploads",
                        "Status": "Enabled",
                        "Prefix": "",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": EXPORT_KEPT_DAYS},
                    },
                ]
            },
        },
    }
    configuration_set = stage_variable(config, "PREGON_SES_CONFIGURATION_SET")
    resources["SesConfigurationSet"] = {
        "Type": "AWS::SES::ConfigurationSet",
        "Properties": {"Name": configuration_set},
    }
    events_topic = next((t for t in ids if t.endswith("ses-events")), None)
    if events_topic:
        resources["SesEventsDestination"] = {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {
                "ConfigurationSetName": {"Ref": "SesConfigurationSet"},
                "EventDestination": {
                    "Name": "pregon-delivery-events",
                    "Enabled": True,
                    "MatchingEventTypes": ["reject", "bounce", "complaint", "delivery"],
                    "SnsDestination": {"TopicARN": {"Ref": ids[events_topic]}},
                },
            },
        }
    inbound_topic = next((t for t in ids if t.endswith("inbound-mail")), None)
    inbound_bucket = _optional_variable(config, "PREGON_INBOUND_BUCKET")
    inbound_domain = _optional_variable(config, "PREGON_INBOUND_DOMAIN")
    if inbound_topic and inbound_bucket and inbound_domain:
        resources["InboundMailBucket"] = {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": inbound_bucket,
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                # Raw mail that no record names (held past the day's ceilings and not released,
                # for no company in service), tagged so by the handler: gone after its release
                # window and a margin (decision 0037). A record's raw mail is the register's.
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "UnrecordedInboundMail",
                            "Status": "Enabled",
                            "TagFilters": [{"Key": "pregon-purpose", "Value": UNRECORDED}],
                            "ExpirationInDays": UNRECORDED_KEPT_DAYS,
                        }
                    ]
                },
            },
        }
        resources["InboundMailBucketPolicy"] = {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "InboundMailBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "SesWritesInboundMail",
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": {"Fn::Sub": "${InboundMailBucket.Arn}/*"},
                            "Condition": {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}},
                        }
                    ],
                },
            },
        }
        resources["InboundRuleSet"] = {
            "Type": "AWS::SES::ReceiptRuleSet",
            "Properties": {"RuleSetName": f"pregon-{stage}-inbound"},
        }
        resources["InboundRule"] = {
            "Type": "AWS::SES::ReceiptRule",
            "DependsOn": ["InboundMailBucketPolicy"],
            "Properties": {
                "RuleSetName": {"Ref": "InboundRuleSet"},
                "Rule": {
                    "Name": "store-and-notify",
                    "Enabled": True,
                    "Recipients": [inbound_domain],
                    "ScanEnabled": True,
                    "Actions": [
                        {
                            "S3Action": {
                                "BucketName": {"Ref": "InboundMailBucket"},
                                "ObjectKeyPrefix": "inbound/",
                                "TopicArn": {"Ref": ids[inbound_topic]},
                            }
                        }
                    ],
                },
            },
        }
    return resources, ids


def _topics_into_queues(ids: dict[str, str]) -> dict[str, Json]:
    """SNS topics delivered into an SQS queue that a function reads in batches (issue 14: SES's
    events): the topic, its raw-delivery subscription, and the queue policy that lets only this
    topic send to the queue. ``ids`` gets the topic's logical id."""
    from chalicelib.events.ses_events import SES_EVENTS_QUEUE, SES_EVENTS_TOPIC

    resources: dict[str, Json] = {}
    for topic, queue in ((SES_EVENTS_TOPIC, SES_EVENTS_QUEUE),):
        if queue not in ids or topic in ids:
            continue
        topic_id = _resource_name(topic) + "Topic"
        queue_id = ids[queue]
        ids[topic] = topic_id
        resources[topic_id] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": topic}}
        resources[topic_id + "Subscription"] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": topic_id},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": [queue_id, "Arn"]},
                # The body is SES's JSON itself, not SNS's envelope around it (both are read).
                "RawMessageDelivery": True,
            },
        }
        resources[queue_id + "Policy"] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": queue_id}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TopicSendsToQueue",
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
                            "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": topic_id}}},
                        }
                    ],
                },
            },
        }
    return resources


def _optional_variable(config: Json, name: str) -> str | None:
    try:
        return stage_variable(config, name)
    except SystemExit:
        return None


SENDING_DOMAIN_ACTIONS = [
    "ses:VerifyDomainIdentity",
    "ses:VerifyDomainDkim",
    "ses:SetIdentityMailFromDomain",
    "ses:GetIdentityDkimAttributes",
    "ses:GetIdentityMailFromDomainAttributes",
    "ses:GetIdentityVerificationAttributes",
    "ses:DeleteIdentity",  # DELETE /sender-domains/{domain}
]


def _partiql_statements(tables: dict[str, Json]) -> list[Json]:
    """PartiQL where the code uses it (issue 14), on one table each: the tracking sweep reads a
    chunk of due parcels' followers with one SELECT whose ``IN`` names their partitions (never
    as a scan); the outbox writes new messages (conditional INSERTs) and a hand-off's outcomes
    (conditional UPDATEs) 25 to a request without a transaction."""

    def table_named(suffix: str) -> list[str]:
        return [
            t for t, table in sorted(tables.items()) if str(table["Properties"]["TableName"]).endswith(suffix)
        ]

    return [
        {
            "Sid": "FollowersOfDueParcels",
            "Effect": "Allow",
            "Action": ["dynamodb:PartiQLSelect"],
            "Resource": {"Fn::GetAtt": [table_id, "Arn"]},
            "Condition": {"Bool": {"dynamodb:FullTableScan": "false"}},
        }
        for table_id in table_named("subscriptions")
    ] + [
        {
            "Sid": "MessagesWrittenInBatches",
            "Effect": "Allow",
            "Action": ["dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate"],
            "Resource": {"Fn::GetAtt": [table_id, "Arn"]},
        }
        for table_id in table_named("-communications")
    ]


def lambda_policy(tables: dict[str, Json], messaging: dict[str, Json] | None = None) -> Json:
    """The one policy every Pregón function role gets: only what the code calls."""
    table_arns: list[Json] = []
    for table_id, table in sorted(tables.items()):
        table_arns.append({"Fn::GetAtt": [table_id, "Arn"]})
        if "GlobalSecondaryIndexes" in table["Properties"] or "LocalSecondaryIndexes" in table["Properties"]:
            table_arns.append({"Fn::Sub": "${" + table_id + ".Arn}/index/*"})
    aws = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:%s"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PregonTables",
                "Effect": "Allow",
                "Action": DYNAMODB_ACTIONS,
                "Resource": table_arns,
            },
            *_partiql_statements(tables),
            {
                # Sender passwords, and the data keys of the stack's encrypted queues.
                "Sid": "StackKey",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": {"Fn::GetAtt": [KMS_KEY_ID, "Arn"]},
            },
            {
                # Tenants' identities are configured at run time; this account and region only.
                "Sid": "SendMail",
                "Effect": "Allow",
                "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                "Resource": [
                    {"Fn::Sub": aws % ("ses", "identity/*")},
                    {"Fn::Sub": aws % ("ses", "configuration-set/*")},
                ],
            },
            {
                # Companies' sending domains (issue 10): create the identity with Easy DKIM and a
                # MAIL FROM subdomain, read its states, delete it. SES v1 takes no resource ARN for these.
                "Sid": "SendingDomains",
                "Effect": "Allow",
                "Action": SENDING_DOMAIN_ACTIONS,
                "Resource": "*",
            },
            {
                # SMS straight to phone numbers (C6): SNS has no resource ARN for a phone number,
                # so Publish needs "*"; the statement below takes every topic back out.
                "Sid": "SendSms",
                "Effect": "Allow",
                "Action": "sns:Publish",
                "Resource": "*",
            },
            *_messaging_statements(messaging or {}),
            {
                # The stack's own function log groups (CloudFormation names functions
                # <stack>-<logical id>-<suffix>).
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [
                    {"Fn::Sub": aws % ("logs", "log-group:/aws/lambda/${AWS::StackName}-*")},
                    {"Fn::Sub": aws % ("logs", "log-group:/aws/lambda/${AWS::StackName}-*:*")},
                ],
            },
            {
                # X-Ray has no resource-level permissions: "*" is the only valid resource.
                "Sid": "Tracing",
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": "*",
            },
        ],
    }


def _messaging_statements(messaging: dict[str, Json]) -> list[Json]:
    """Queues (send, and the event source mapping's receive), files, inbound mail, push."""
    aws = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:%s"
    queues = [
        {"Fn::GetAtt": [rid, "Arn"]} for rid, r in sorted(messaging.items()) if r["Type"] == "AWS::SQS::Queue"
    ]
    topics = [{"Ref": rid} for rid, r in sorted(messaging.items()) if r["Type"] == "AWS::SNS::Topic"]
    buckets = [rid for rid, r in sorted(messaging.items()) if r["Type"] == "AWS::S3::Bucket"]
    statements: list[Json] = []
    if queues:
        statements.append(
            {
                "Sid": "Queues",
                "Effect": "Allow",
                "Action": [
                    "sqs:SendMessage",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                ],
                "Resource": queues,
            }
        )
    if "FilesBucket" in buckets:
        statements.append(
            {
                "Sid": "Files",
                "Effect": "Allow",
                # DeleteObject: PDFs deleted after sending (D3); tagging: their lifecycle rule;
                # AbortMultipartUpload: an access report's parts whose join failed (decision 0038).
                "Action": [
                    "s3:PutObject",
                    "s3:PutObjectTagging",
                    "s3:GetObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                ],
                "Resource": {"Fn::Sub": "${FilesBucket.Arn}/*"},
            }
        )
    if "InboundMailBucket" in buckets:
        statements.append(
            {
                "Sid": "InboundMail",
                "Effect": "Allow",
                # tagging: raw mail no record names is tagged for the lifecycle rule, tagged
                # again (as recorded) when staff release it (decision 0037)
                "Action": ["s3:GetObject", "s3:PutObjectTagging"],
                "Resource": {"Fn::Sub": "${InboundMailBucket.Arn}/*"},
            }
        )
    statements.append(
        {
            # Push (C7): device endpoints under the company's platform applications.
            "Sid": "PushEndpoints",
            "Effect": "Allow",
            "Action": [
                "sns:CreatePlatformEndpoint",
                "sns:DeleteEndpoint",
                "sns:GetEndpointAttributes",
                "sns:SetEndpointAttributes",
            ],
            "Resource": {"Fn::Sub": aws % ("sns", "app/*")},
        }
    )
    if topics:
        # The functions publish SMS and push, never to the stack's own topics: a function
        # that could would be able to forge SES events, inbound mail or inbound SMS.
        statements.append(
            {"Sid": "NoTopicPublish", "Effect": "Deny", "Action": "sns:Publish", "Resource": topics}
        )
    return statements


def merge_template(stage: str, config: Json) -> tuple[Json, Json]:
    """The template merged into Chalice's, and the function policy; both from code + config."""
    prefix = stage_variable(config, "PREGON_TABLE_PREFIX")
    kms_alias = stage_variable(config, "PREGON_KMS_KEY_ID")
    if not kms_alias.startswith("alias/"):
        raise SystemExit("PREGON_KMS_KEY_ID must name the key's alias (alias/...) in config.json")
    tables = table_resources(prefix, protect=stage == "prod")
    messaging, _ = messaging_resources(stage, config)
    resources: dict[str, Json] = {
        **tables,
        **secrets_key_resources(kms_alias),
        **link_signing_secret(stage),
        **messaging,
    }
    outputs = {
        "SecretsKeyArn": {"Value": {"Fn::GetAtt": [KMS_KEY_ID, "Arn"]}},
        **{table_id: {"Value": {"Ref": table_id}} for table_id in sorted(tables)},
    }
    template: Json = {
        "Description": f"Pregón ({stage}): customer communications",
        "Globals": {
            "Function": {
                "Environment": {
                    # Resolved by CloudFormation at deploy time; the Sub also makes every
                    # function depend on the secrets, so they exist before they are created.
                    "Variables": {
                        **{
                            name: {"Fn::Sub": "{{resolve:secretsmanager:${" + secret_id + "}:SecretString}}"}
                            for name, secret_id in LINK_KEY_SECRETS.items()
                        },
                        # A new value updates every function, which resolves the secrets again:
                        # CloudFormation sees no change in a secret's value by itself.
                        "PREGON_LINK_SIGNING_KEYS_DEPLOYED": {"Ref": LINK_KEYS_DEPLOYED_PARAMETER},
                    }
                }
            }
        },
        "Parameters": {
            LINK_KEYS_DEPLOYED_PARAMETER: {
                "Type": "String",
                "Default": "initial",
                "Description": "A new value (the date) on the deploy after rotating the link-signing key",
            }
        },
        "Resources": resources,
        "Outputs": outputs,
    }
    return template, lambda_policy(tables, messaging)


# --- Packaging ----------------------------------------------------------------------------


def export_requirements(destination: Path) -> None:
    """The Lambda's requirements, exactly as locked; Chalice ships its own runtime module."""
    subprocess.run(  # nosec B603, B607 # uv from PATH with fixed arguments, at synth time
        [
            "uv",
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-project",
            "--prune",
            "chalice",
            "--quiet",
            "-o",
            str(destination),
        ],
        cwd=ROOT,
        check=True,
    )


def staging_project(project_dir: Path, build_dir: Path) -> Path:
    """A project dir Chalice can package: the real sources (symlinked) + exported requirements.

    Chalice reads ``requirements.txt`` from the project root; exporting it here instead keeps
    the repository free of a generated file. ``.chalice`` is linked too, so Chalice's dependency
    cache (``.chalice/deployments``) survives between runs.
    """
    staging = build_dir / "project"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name in ("app.py", "chalicelib", "vendor", ".chalice"):
        source = project_dir / name
        if not source.exists():
            raise SystemExit(f"{source} is missing")
        (staging / name).symlink_to(source.resolve())
    export_requirements(staging / "requirements.txt")
    return staging


def chalice_package(project: Path, stage: str, template: Json, policy: Json, out: Path) -> None:
    """``chalice package --stage S --merge-template M OUT``, with the generated role policy.

    Run in-process, the way Chalice's own CDK construct does (``chalice.api.package_app``),
    because that is the one way to hand Chalice a generated ``iam_policy_file`` without
    writing it into the repository. ``merge.json`` and ``lambda-policy.json`` are kept in
    ``out`` for review.
    """
    from chalice.cli.factory import CLIFactory

    merge_file = out / "merge.json"
    policy_file = out / "lambda-policy.json"
    # The packager builds a botocore session to pick service principals; no call is made.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    factory = CLIFactory(str(project), environ=os.environ)
    config = factory.create_config_obj(
        stage, user_provided_params={"iam_policy_file": str(policy_file.resolve())}
    )
    if config.autogen_policy is not False:
        raise SystemExit(f"stage {stage!r} must set autogen_policy: false in .chalice/config.json")
    if config.log_retention_in_days and config.chalice_app.routes:
        # Chalice names the API function "APIHandler" but points its log group at
        # "${ApiHandler}" (aws/chalice#2079); CloudFormation would reject the stack.
        template["Resources"]["ApiHandlerLogGroup"] = {
            "Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${APIHandler}"}}
        }
    merge_file.write_text(json.dumps(template, indent=2, ensure_ascii=False) + "\n")
    policy_file.write_text(json.dumps(policy, indent=2) + "\n")
    packager = factory.create_app_packager(
        config,
        factory.create_package_options(),
        package_format="cloudformation",
        template_format="json",
        merge_template=str(merge_file.resolve()),
    )
    packager.package_app(config, str(out), stage)


OUTPUTS = ("sam.json", "deployment.zip", "layer-deployment.zip", "merge.json", "lambda-policy.json")


def clean_output(out: Path) -> None:
    """Remove a previous synthesis (only its own files: ``--out`` may be any folder)."""
    for name in OUTPUTS:
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / ".build", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def synthesize(stage: str, out: Path, project_dir: Path = ROOT) -> Path:
    """Write the deployable template and zip into ``out``; returns the template's path."""
    config = stage_config(project_dir, stage)
    template, policy = merge_template(stage, config)
    clean_output(out)
    build = out / ".build"
    build.mkdir(parents=True)
    project = staging_project(project_dir, build)
    chalice_package(project, stage, template, policy, out)
    shutil.rmtree(build)
    sam = out / "sam.json"
    packaged = json.loads(sam.read_text())
    operate(
        packaged,
        stage=stage,
        retention_days=int(config.get("log_retention_in_days") or 90),
    )
    # Compact: CloudFormation counts the template's bytes (1 MB in S3), and indenting alone doubled
    # them (1.007 MB in session 37); merge.json, the part we write, stays indented to be read.
    sam.write_text(json.dumps(packaged, separators=(",", ":"), ensure_ascii=False) + "\n")
    return sam


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--stage", default="prod", help="Chalice stage (test or prod)")
    parser.add_argument("--out", type=Path, default=ROOT / "infrastructure" / "out", help="output dir")
    parser.add_argument("--project-dir", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    template = synthesize(args.stage, args.out, args.project_dir)
    print(template)
    return 0


if __name__ == "__main__":
    sys.exit(main())
