"""What it takes to run the stack and what a security reviewer asks of it, applied to the packaged
template: alarms to an operator topic, a dashboard, encryption with the stack's customer key, dead
letter queues, concurrency limits, API logging and tracing, and the Checkov checks that do not fit
Pregón skipped in the template itself, each with its reason.

Chalice writes the functions, their roles and log groups, and the REST API; this module runs on
the finished ``sam.json`` so that every function and queue it finds, today's and tomorrow's, gets
the same treatment (``tests/integration/test_infrastructure.py`` checks that none is missed).
"""

from __future__ import annotations

import json
from typing import Any

Json = dict[str, Any]

KEY = "SecretsKey"
ALARM_TOPIC = "OperatorAlarmsTopic"
ASYNC_FAILURES = "AsyncInvokeFailures"
ACCESS_LOGS_BUCKET = "AccessLogsBucket"
API_ACCESS_LOGS = "ApiAccessLogs"
RUNBOOK = "docs/operations.md"

# SES reviews an account at a 5 % bounce rate and 0.1 % complaint rate (and may pause sending
# at 10 % and 0.5 %); the alarms ring before SES does.
SES_BOUNCE_ALARM = 0.04
SES_COMPLAINT_ALARM = 0.0008
FAILED_SENDS_ALARM = 0.05  # of the messages delivered in 15 minutes, when at least 20 were
OUTBOX_AGE_ALARM_SECONDS = 900

# Reserved concurrency by how a function is invoked: it bounds what one function can take from
# the account (and from SMTP servers and DynamoDB), and SQS pollers are capped to the same number
# so a busy queue waits instead of being throttled into its dead-letter queue.
CONCURRENCY = {"SQS": 5, "SNS": 10, "Schedule": 2}
CONCURRENCY_BY_FUNCTION = {"DeliverOutbox": 20, "ExpandSendJob": 5}

# Checks that do not fit this product, skipped on the resources they name, with the reason.
SKIPS_BY_TYPE: dict[str, list[tuple[str, str]]] = {
    "AWS::Serverless::Function": [
        (
            "CKV_AWS_117",
            "No VPC: the functions reach only AWS APIs and the tenants' own SMTP servers; a VPC "
            "would add NAT costs and cold-start time and protect nothing here",
        ),
    ],
    "AWS::Serverless::Api": [
        (
            "CKV_AWS_120",
            "No API cache: every answer depends on the caller's credentials; a cache could hand "
            "one tenant's answer to another",
        ),
    ],
}
SKIPS_BY_RESOURCE: dict[str, list[tuple[str, str]]] = {
    "FilesBucket": [
        (
            "CKV_AWS_21",
            "No versioning: D3 promises that a delivered PDF is deleted; versions would keep it",
        ),
    ],
    ACCESS_LOGS_BUCKET: [
        ("CKV_AWS_18", "This is the access-log bucket; logging it into itself would loop"),
    ],
}
SYNCHRONOUS_SKIP = (
    "CKV_AWS_116",
    "Invoked synchronously by API Gateway: the caller gets the error, there is nothing to park",
)
SQS_SKIP = (
    "CKV_AWS_116",
    "Invoked by an SQS event source mapping: failed messages go to that queue's dead-letter queue",
)
API_CONCURRENCY_SKIP = (
    "CKV_AWS_115",
    "Answers callers: limited by the API stage's throttling instead, so a reserve would only turn "
    "callers away while the account has room",
)
SMS_PUBLISH_SKIP = (
    "CKV_AWS_111",
    "sns:Publish to a phone number (SMS) and SES v1's sending-domain identity calls have no "
    "resource ARN to name; the same policy denies publishing to the stack's own topics",
)


def _alarm(description: str, runbook: str, **properties: Any) -> Json:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": f"{description} Runbook: {RUNBOOK}#{runbook}",
            "AlarmActions": [{"Ref": ALARM_TOPIC}],
            "OKActions": [{"Ref": ALARM_TOPIC}],
            "TreatMissingData": "notBreaching",
            **properties,
        },
    }


def _metric_alarm(
    description: str,
    runbook: str,
    *,
    namespace: str,
    metric: str,
    dimensions: list[Json],
    statistic: str = "Sum",
    threshold: float = 1,
    period: int = 300,
    periods: int = 1,
) -> Json:
    return _alarm(
        description,
        runbook,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=dimensions,
        Statistic=statistic,
        Period=period,
        EvaluationPeriods=periods,
        Threshold=threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def _skip(resource: Json, check: tuple[str, str]) -> None:
    skips = resource.setdefault("Metadata", {}).setdefault("checkov", {}).setdefault("skip", [])
    if all(s["id"] != check[0] for s in skips):
        skips.append({"id": check[0], "comment": check[1]})


def _of_type(resources: Json, kind: str) -> list[str]:
    return sorted(rid for rid, r in resources.items() if r["Type"] == kind)


def _invoked_by(function: Json) -> set[str]:
    return {e["Type"] for e in (function["Properties"].get("Events") or {}).values()}


def _key_arn() -> Json:
    return {"Fn::GetAtt": [KEY, "Arn"]}


# --- encryption with the stack's key -------------------------------------------------------------


def _key_policy_for_services(resources: Json) -> None:
    """Let the AWS services that write into encrypted topics and log groups use the key, for
    this account only."""
    statements = resources[KEY]["Properties"]["KeyPolicy"]["Statement"]
    statements.append(
        {
            "Sid": "ServicesPublishToEncryptedTopics",
            "Effect": "Allow",
            "Principal": {
                "Service": [
                    "ses.amazonaws.com",
                    "sns.amazonaws.com",
                    "cloudwatch.amazonaws.com",
                    "sms-voice.amazonaws.com",
                ]
            },
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }
    )
    statements.append(
        {
            "Sid": "LogsEncryptTheStackLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}},
            "Action": [
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": {
                        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
                    }
                }
            },
        }
    )


def _encrypt(resources: Json) -> None:
    for rid in _of_type(resources, "AWS::DynamoDB::Table"):
        resources[rid]["Properties"]["SSESpecification"] = {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": _key_arn(),
        }
    for rid in _of_type(resources, "AWS::SNS::Topic"):
        resources[rid]["Properties"]["KmsMasterKeyId"] = _key_arn()
    for rid in _of_type(resources, "AWS::SQS::Queue"):
        # SQS reuses a data key for an hour: a handful of KMS calls per queue, not one per message.
        resources[rid]["Properties"]["KmsMasterKeyId"] = _key_arn()
        resources[rid]["Properties"]["KmsDataKeyReusePeriodSeconds"] = 3600
    for rid in _of_type(resources, "AWS::Logs::LogGroup"):
        resources[rid]["Properties"]["KmsKeyId"] = _key_arn()
    for rid in _of_type(resources, "AWS::SecretsManager::Secret"):
        resources[rid]["Properties"]["KmsKeyId"] = _key_arn()
    for rid in _of_type(resources, "AWS::Serverless::Function"):
        resources[rid]["Properties"]["KmsKeyArn"] = _key_arn()


# --- buckets ----------------------------------------------------------------------------------------


def _access_logs(resources: Json, stage: str) -> None:
    buckets = [rid for rid in _of_type(resources, "AWS::S3::Bucket") if rid != ACCESS_LOGS_BUCKET]
    resources[ACCESS_LOGS_BUCKET] = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": {"Fn::Sub": f"pregon-{stage}-access-logs-${{AWS::AccountId}}"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            # S3 server access logging writes only into SSE-S3 buckets.
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "keep-a-year",
                        "Status": "Enabled",
                        "ExpirationInDays": 365,
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                    }
                ]
            },
        },
    }
    resources[ACCESS_LOGS_BUCKET + "Policy"] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": ACCESS_LOGS_BUCKET},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "S3ServerAccessLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": {"Fn::Sub": "${" + ACCESS_LOGS_BUCKET + ".Arn}/*"},
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    }
                ],
            },
        },
    }
    for rid in buckets:
        properties = resources[rid]["Properties"]
        properties["LoggingConfiguration"] = {
            "DestinationBucketName": {"Ref": ACCESS_LOGS_BUCKET},
            "LogFilePrefix": f"{rid}/",
        }
        if rid not in SKIPS_BY_RESOURCE or all(c != "CKV_AWS_21" for c, _ in SKIPS_BY_RESOURCE[rid]):
            properties["VersioningConfiguration"] = {"Status": "Enabled"}
            rules = properties.setdefault("LifecycleConfiguration", {}).setdefault("Rules", [])
            rules.append(
                {
                    "Id": "old-versions",
                    "Status": "Enabled",
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                }
            )


# --- functions ------------------------------------------------------------------------------------


def _functions(resources: Json) -> None:
    resources[ASYNC_FAILURES] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": {"Fn::Sub": "${AWS::StackName}-async-failures"},
            "MessageRetentionPeriod": 1209600,
        },
    }
    for rid in _of_type(resources, "AWS::Serverless::Function"):
        function = resources[rid]
        properties = function["Properties"]
        kinds = _invoked_by(function)
        if not kinds or "Api" in kinds:  # the API handler and its authorizer
            _skip(function, SYNCHRONOUS_SKIP)
            _skip(function, API_CONCURRENCY_SKIP)
            continue
        if kinds == {"SQS"}:
            _skip(function, SQS_SKIP)
        else:  # EventBridge schedules and SNS invoke asynchronously: park what fails twice
            properties["DeadLetterQueue"] = {
                "Type": "SQS",
                "TargetArn": {"Fn::GetAtt": [ASYNC_FAILURES, "Arn"]},
            }
        limit = CONCURRENCY_BY_FUNCTION.get(rid) or max(CONCURRENCY[k] for k in kinds if k in CONCURRENCY)
        properties["ReservedConcurrentExecutions"] = limit
        for event in (properties.get("Events") or {}).values():
            if event["Type"] == "SQS":
                event["Properties"]["ScalingConfig"] = {"MaximumConcurrency": max(2, limit)}
                if rid in _partial_batch_functions():
                    # Only the records the function names are tried again, not its whole batch.
                    event["Properties"]["FunctionResponseTypes"] = ["ReportBatchItemFailures"]


def _partial_batch_functions() -> set[str]:
    """The logical ids of the functions that answer SQS with ``batchItemFailures``."""
    from chalice.utils import to_cfn_resource_name

    from chalicelib.events import REPORTS_BATCH_ITEM_FAILURES

    return {to_cfn_resource_name(name) for name in REPORTS_BATCH_ITEM_FAILURES}


def _roles(resources: Json) -> None:
    """The function roles may send to the async dead-letter queue; the SMS publish is explained."""
    for rid in _of_type(resources, "AWS::IAM::Role"):
        role = resources[rid]
        for policy in role["Properties"].get("Policies") or []:
            statements = policy["PolicyDocument"]["Statement"]
            if any(s.get("Sid") == "SendSms" for s in statements):
                _skip(role, SMS_PUBLISH_SKIP)
            for statement in statements:
                # Nor may a function page the operators.
                if (
                    statement.get("Sid") == "NoTopicPublish"
                    and {"Ref": ALARM_TOPIC} not in statement["Resource"]
                ):
                    statement["Resource"] = sorted(
                        [*statement["Resource"], {"Ref": ALARM_TOPIC}], key=lambda r: str(r["Ref"])
                    )
            if any(s.get("Sid") == "Queues" for s in statements) and all(
                s.get("Sid") != "AsyncFailures" for s in statements
            ):
                statements.append(
                    {
                        "Sid": "AsyncFailures",
                        "Effect": "Allow",
                        "Action": "sqs:SendMessage",
                        "Resource": {"Fn::GetAtt": [ASYNC_FAILURES, "Arn"]},
                    }
                )


# --- the API ----------------------------------------------------------------------------------------


def _api(resources: Json, stage: str, retention_days: int) -> None:
    resources[API_ACCESS_LOGS] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": {"Fn::Sub": f"/pregon/{stage}/api-access"},
            "RetentionInDays": retention_days,
            "KmsKeyId": _key_arn(),
        },
    }
    resources["ApiGatewayLogsRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "apigateway.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "ManagedPolicyArns": [
                {
                    "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                    "AmazonAPIGatewayPushToCloudWatchLogs"
                }
            ],
        },
    }
    # API Gateway writes logs with the account's one CloudWatch role (an account-wide setting).
    resources["ApiGatewayAccount"] = {
        "Type": "AWS::ApiGateway::Account",
        "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]}},
    }
    access_format = {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "method": "$context.httpMethod",
        "path": "$context.resourcePath",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "company": "$context.authorizer.company_id",
    }
    for rid in _of_type(resources, "AWS::Serverless::Api"):
        properties = resources[rid]["Properties"]
        properties["TracingEnabled"] = True
        properties["AccessLogSetting"] = {
            "DestinationArn": {"Fn::GetAtt": [API_ACCESS_LOGS, "Arn"]},
            "Format": json.dumps(access_format, separators=(",", ":")),
        }
        properties["MethodSettings"] = [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": 200,
                "ThrottlingBurstLimit": 400,
                "MetricsEnabled": True,
            }
        ]
        resources[rid].setdefault("DependsOn", [])
        if "ApiGatewayAccount" not in resources[rid]["DependsOn"]:
            resources[rid]["DependsOn"].append("ApiGatewayAccount")


# --- alarms and the dashboard --------------------------------------------------------------------------


def dead_letter_queues(resources: Json) -> list[str]:
    """Every queue that parks what failed: redrive targets and the async failures queue."""
    targets = {ASYNC_FAILURES} if ASYNC_FAILURES in resources else set()
    for rid in _of_type(resources, "AWS::SQS::Queue"):
        redrive = resources[rid]["Properties"].get("RedrivePolicy") or {}
        target = redrive.get("deadLetterTargetArn")
        if isinstance(target, dict) and "Fn::GetAtt" in target:
            targets.add(target["Fn::GetAtt"][0])
    return sorted(targets)


def _alarms(template: Json) -> None:
    resources = template["Resources"]
    resources[ALARM_TOPIC] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": {"Fn::Sub": "${AWS::StackName}-alarms"}, "KmsMasterKeyId": _key_arn()},
    }
    # `aws cloudformation deploy ... --parameter-overrides OperatorEmail=ops@example.com`
    template.setdefault("Parameters", {})["OperatorEmail"] = {
        "Type": "String",
        "Default": "",
        "Description": "Who gets the alarms by e-mail (confirm the subscription AWS sends); empty for none",
    }
    template.setdefault("Conditions", {})["HasOperatorEmail"] = {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "OperatorEmail"}, ""]}]
    }
    resources["OperatorAlarmsSubscription"] = {
        "Type": "AWS::SNS::Subscription",
        "Condition": "HasOperatorEmail",
        "Properties": {
            "TopicArn": {"Ref": ALARM_TOPIC},
            "Protocol": "email",
            "Endpoint": {"Ref": "OperatorEmail"},
        },
    }
    alarms: Json = {}
    for queue in dead_letter_queues(resources):
        alarms[f"{queue}Alarm"] = _metric_alarm(
            f"Messages are waiting in the dead-letter queue {queue}.",
            "a-dead-letter-queue-has-messages",
            namespace="AWS/SQS",
            metric="ApproximateNumberOfMessagesVisible",
            dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}],
            statistic="Maximum",
        )
    for rid in _of_type(resources, "AWS::Serverless::Function"):
        dimensions = [{"Name": "FunctionName", "Value": {"Ref": rid}}]
        alarms[f"{rid}ErrorsAlarm"] = _metric_alarm(
            f"The function {rid} failed.",
            "a-function-fails",
            namespace="AWS/Lambda",
            metric="Errors",
            dimensions=dimensions,
        )
        alarms[f"{rid}ThrottlesAlarm"] = _metric_alarm(
            f"The function {rid} was throttled.",
            "a-function-is-throttled",
            namespace="AWS/Lambda",
            metric="Throttles",
            dimensions=dimensions,
        )
    for rid in _of_type(resources, "AWS::DynamoDB::Table"):
        table = [{"Name": "TableName", "Value": {"Ref": rid}}]
        alarms[f"{rid}ThrottlesAlarm"] = _alarm(
            f"DynamoDB throttled requests on {rid}.",
            "dynamodb-throttles",
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            Metrics=[
                {
                    "Id": "throttled",
                    "Expression": "reads + writes",
                    "Label": "throttle events",
                    "ReturnData": True,
                },
                *(
                    {
                        "Id": short,
                        "ReturnData": False,
                        "MetricStat": {
                            "Metric": {"Namespace": "AWS/DynamoDB", "MetricName": name, "Dimensions": table},
                            "Period": 300,
                            "Stat": "Sum",
                        },
                    }
                    for short, name in (("reads", "ReadThrottleEvents"), ("writes", "WriteThrottleEvents"))
                ),
            ],
        )
    service = [{"Name": "service", "Value": "pregon"}]
    alarms["FailedSendsAlarm"] = _alarm(
        f"More than {FAILED_SENDS_ALARM:.0%} of the messages delivered in 15 minutes failed.",
        "sends-fail",
        EvaluationPeriods=1,
        Threshold=FAILED_SENDS_ALARM,
        ComparisonOperator="GreaterThanThreshold",
        Metrics=[
            {
                "Id": "rate",
                "Expression": "IF(sent + failed >= 20, failed / (sent + failed), 0)",
                "Label": "failed share",
                "ReturnData": True,
            },
            *(
                {
                    "Id": short,
                    "ReturnData": False,
                    "MetricStat": {
                        "Metric": {"Namespace": "Pregon", "MetricName": name, "Dimensions": service},
                        "Period": 900,
                        "Stat": "Sum",
                    },
                }
                for short, name in (("sent", "MessagesSent"), ("failed", "MessagesFailed"))
            ),
        ],
    )
    alarms["OutboxAgeAlarm"] = _metric_alarm(
        f"A message waited in an outbox more than {OUTBOX_AGE_ALARM_SECONDS // 60} minutes before delivery.",
        "the-outbox-is-late",
        namespace="Pregon",
        metric="OutboxAgeSeconds",
        dimensions=service,
        statistic="Maximum",
        threshold=OUTBOX_AGE_ALARM_SECONDS,
        periods=2,
    )
    # The delivery-report check's failures ring its ErrorsAlarm while they last; a report it then
    # gives up leaves its SMS "sent" for ever, so the giving up rings an alarm of its own.
    alarms["SmsReportsUnreadAlarm"] = _metric_alarm(
        "SMS delivery reports were given up after two hours of failures: those SMS stay sent.",
        "sms-delivery-reports-are-given-up",
        namespace="Pregon",
        metric="SmsReportsUnread",
        dimensions=service,
    )
    alarms["SmsAllowanceAlarm"] = _metric_alarm(
        "A company's SMS wait: it used up the SMS a day it may send on Pregón's SNS bill.",
        "a-company-reached-its-sms-allowance",
        namespace="Pregon",
        metric="SmsAllowanceReached",
        dimensions=service,
    )
    alarms["EmailAllowanceAlarm"] = _metric_alarm(
        "A company's e-mails through Pregón's SES wait: it used up the e-mails a day it may send there.",
        "a-company-reached-its-e-mail-allowance",
        namespace="Pregon",
        metric="EmailAllowanceReached",
        dimensions=service,
    )
    alarms["EmailSenderPausedAlarm"] = _metric_alarm(
        "A company's e-mails through Pregón's SES were paused: its own hard bounces or complaints over "
        "24 hours reached SES's review levels (decision 0032). They wait until the operator resumes them.",
        "a-companys-e-mails-were-paused-for-bounces-or-complaints",
        namespace="Pregon",
        metric="EmailSenderPaused",
        dimensions=service,
    )
    alarms["PublicConfirmationsCappedAlarm"] = _metric_alarm(
        "A company's public tracking site reached its confirmation e-mails of the day: alerts asked for "
        "there are refused (429) until the next UTC day. Many callers, or a botnet.",
        "a-companys-public-confirmations-are-capped",
        namespace="Pregon",
        metric="PublicConfirmationsCapped",
        dimensions=service,
    )
    alarms["InboundMailHeldAlarm"] = _metric_alarm(
        "Received mail or SMS was held past a company's day's ceilings (decision 0037): a flood, a mail "
        "loop, or a system writing to its inbound address without end.",
        "received-mail-is-held",
        namespace="Pregon",
        metric="InboundMailHeld",
        dimensions=service,
    )
    alarms["SesBounceRateAlarm"] = _metric_alarm(
        f"The account's SES bounce rate reached {SES_BOUNCE_ALARM:.0%} (SES reviews at 5 %).",
        "bounces-or-complaints-are-high",
        namespace="AWS/SES",
        metric="Reputation.BounceRate",
        dimensions=[],
        statistic="Maximum",
        threshold=SES_BOUNCE_ALARM,
        period=3600,
    )
    alarms["SesComplaintRateAlarm"] = _metric_alarm(
        f"The account's SES complaint rate reached {SES_COMPLAINT_ALARM:.2%} (SES reviews at 0.1 %).",
        "bounces-or-complaints-are-high",
        namespace="AWS/SES",
        metric="Reputation.ComplaintRate",
        dimensions=[],
        statistic="Maximum",
        threshold=SES_COMPLAINT_ALARM,
        period=3600,
    )
    resources.update(alarms)


CHANNELS = ("email", "sms", "push")


def _dashboard(resources: Json, stage: str) -> None:
    def per_channel(metric: str) -> list[list[Any]]:
        return [["Pregon", metric, "service", "pregon", "Channel", channel] for channel in CHANNELS]

    def widget(title: str, metrics: list[list[Any]], stat: str = "Sum", y: int = 0, x: int = 0) -> Json:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "metrics": metrics,
                "stat": stat,
                "period": 300,
                "region": "${AWS::Region}",
                "view": "timeSeries",
            },
        }

    queues = dead_letter_queues(resources)
    widgets = [
        widget("Sent per channel", per_channel("MessagesSent")),
        widget("Failed per channel", per_channel("MessagesFailed"), x=12),
        widget(
            "Queued per channel (tracking alerts: the sweep's own count)",
            [*per_channel("MessagesQueued"), ["Pregon", "TrackingAlertsQueued", "service", "pregon"]],
            y=6,
        ),
        widget(
            "Outbox age (oldest message delivered, seconds)",
            [["Pregon", "OutboxAgeSeconds", "service", "pregon", "Channel", c] for c in CHANNELS],
            stat="Maximum",
            y=6,
            x=12,
        ),
        widget(
            "Dead-letter queues",
            [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"${{{q}.QueueName}}"]
                for q in queues
            ],
            stat="Maximum",
            y=12,
        ),
        widget(
            "SES reputation",
            [["AWS/SES", "Reputation.BounceRate"], ["AWS/SES", "Reputation.ComplaintRate"]],
            stat="Maximum",
            y=12,
            x=12,
        ),
    ]
    resources["OperationsDashboard"] = {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": "${AWS::StackName}"},
            "DashboardBody": {"Fn::Sub": json.dumps({"widgets": widgets})},
        },
    }


def operate(template: Json, *, stage: str, retention_days: int) -> Json:
    """Apply the operations and security settings to a packaged template (in place)."""
    resources = template["Resources"]
    _key_policy_for_services(resources)
    _access_logs(resources, stage)
    _functions(resources)
    _roles(resources)
    _api(resources, stage, retention_days)
    _encrypt(resources)
    _alarms(template)
    _dashboard(resources, stage)
    for rid, resource in resources.items():
        for check in SKIPS_BY_TYPE.get(resource["Type"], []):
            _skip(resource, check)
        for check in SKIPS_BY_RESOURCE.get(rid, []):
            _skip(resource, check)
    return template
