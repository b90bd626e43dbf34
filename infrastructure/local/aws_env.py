"""An in-process local AWS for tests and benchmarks: DynamoDB Local (in memory) and moto, with
the process environment pointing at them and Pregón's tables created."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from infrastructure.local.dynamodb import DynamoDBLocal
from infrastructure.local.motoserver import MotoServer, ensure_kms_key

#: What DynamoDB Local and moto take for an AWS secret key: any value.
LOCAL_AWS_SECRET = "test"  # nosec B105 # the local engines' dummy key


def reset_process_caches() -> None:
    """Forget settings, clients, keys and table bindings built from an older environment."""
    from chalicelib.core.aws import reset_clients
    from chalicelib.core.settings import reset_settings
    from chalicelib.store.tables import rebind
    from chalicelib.tenants.auth import tokens

    reset_settings()
    reset_clients()
    tokens._inline_keys.cache_clear()
    rebind()


@contextmanager
def local_aws(
    *,
    table_prefix: str,
    jwks_json: str,
    extra: dict[str, str] | None = None,
    expire_items: bool = True,
    full_jit: bool = False,
) -> Iterator[dict[str, str]]:
    """Start both engines, export the environment, create the tables; yields the environment
    plus ``moto`` (moto's endpoint, e.g. to read back sent SES mail and SNS SMS). Tests that
    freeze the clock pass ``expire_items=False`` (see :func:`create_tables`); benchmarks pass
    ``full_jit=True`` (DynamoDB Local with Java's full compiler, as every benchmark before had it)."""
    with DynamoDBLocal(full_jit=full_jit) as dynamodb, MotoServer() as moto:
        env = {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": LOCAL_AWS_SECRET,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.endpoint,
            "AWS_ENDPOINT_URL_KMS": moto.endpoint,
            "AWS_ENDPOINT_URL_SESV2": moto.endpoint,
            "AWS_ENDPOINT_URL_SES": moto.endpoint,
            "AWS_ENDPOINT_URL_SNS": moto.endpoint,
            "AWS_ENDPOINT_URL_SQS": moto.endpoint,
            "AWS_ENDPOINT_URL_S3": moto.endpoint,
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": moto.endpoint,  # ops identity check
            "PREGON_STAGE": "test",
            "PREGON_TABLE_PREFIX": table_prefix,
            "PREGON_KMS_KEY_ID": "alias/pregon-secrets",
            "PREGON_LINK_SIGNING_KEY": secrets.token_urlsafe(48),
            "PREGON_LINK_SIGNING_KEYS_PREVIOUS": "",  # no rotation yet (tests.steps.links rotates)
            "PREGON_PUBLIC_BASE_URL": "https://pregon.test",
            "PREGON_JWKS": jwks_json,
            "PREGON_JWT_ISSUER": "pregon-local",
            "PREGON_JWT_AUDIENCE": "pregon",
            # The tests' SMTP servers and SMS gateway listen on 127.0.0.1 (private ranges stay refused).
            "PREGON_ALLOW_LOOPBACK_DESTINATIONS": "1",
            "POWERTOOLS_METRICS_NAMESPACE": "Pregon",
            "POWERTOOLS_TRACE_DISABLED": "true",
            **(extra or {}),
        }
        os.environ.update(env)
        os.environ.pop("AWS_PROFILE", None)
        reset_process_caches()
        ensure_kms_key(moto.endpoint)
        from infrastructure.local.queues import ensure_local_resources

        ensure_local_resources()
        from chalicelib.store.tables import create_tables

        create_tables(expire_items=expire_items)
        yield env | {"moto": moto.endpoint}
