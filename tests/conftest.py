"""The real local stack for tests: DynamoDB Local (Java), moto's server for KMS/SES, and a real
SMTP server per test. Nothing here imitates our own database. Only fixtures live here: the
steps tests share are in ``tests/steps/``."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.aws_env import local_aws as local_aws_engines
from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.imap import (  # noqa: F401 - a real IMAP server (dovecot) per test; Exchange Online, Gmail
    exchange_online,
    google_workspace,
    imap_server,
)
from tests.steps.operators import operator  # noqa: F401 - a test's operator token, configured while it runs
from tests.steps.stack import RunningStack
from tests.steps.tenants import (
    IDENTITY,
    MADE,
    SMTP_PASSWORD,
    SMTP_USER,
    Tenant,
    make_tenant,
    purge_outbox_queue,
    retire_companies,
)


@pytest.fixture(scope="session")
def local_aws() -> Iterator[dict[str, str]]:
    """DynamoDB Local and a moto server for the whole run, with the environment pointing at them."""
    # TTL off: the tests' clock is frozen in November 2026, and DynamoDB Local deletes expired
    # items by the real date (every read filters expired items itself, as on AWS).
    with local_aws_engines(
        table_prefix="pregon-test-", jwks_json=IDENTITY.jwks_json(), expire_items=False
    ) as env:
        yield env


@pytest.fixture(scope="module", autouse=True)
def heap_frozen_after_each_module() -> Iterator[None]:
    """What a test module leaves alive (imports, the session's servers and clients, moto's state,
    which lives in this process) is moved out of the garbage collector's sight when the module
    ends, after a collection that frees its cycles: CPython's full collections otherwise rescan
    the whole, ever bigger heap (2.2 million objects by a process's end, 1.5 s per full collection,
    twice more in pytest's own ``gc.collect()`` at a process's end). Frozen, the heap no longer
    holds back the next full collection (CPython waits for a quarter of it to be new), so those
    come after 100 younger ones instead of 10: a module's own cycles are freed a little later.
    A cycle among frozen objects that dies later is not freed (max RSS did not grow: docs/testing.md).
    Unraisable exceptions are still reported with the test during or after which they happen."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)
    yield
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def indexes_that_do_not_lag() -> Iterator[None]:
    """The erasure's late pass waits ``INDEX_LAG_SECONDS`` (2 s, real time) for DynamoDB's index
    by client before it Queries it; DynamoDB Local's indexes do not lag, so the tests' erasures do
    not wait (2 s each with the frozen clock). The test that shows the wait is there and comes
    before that Query gives it back a length of its own (test_client_erasure's ``LAG``)."""
    from chalicelib.records import erasure

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(erasure, "INDEX_LAG_SECONDS", 0.0)
        yield


@pytest.fixture(autouse=True)
def retire_the_tests_companies() -> Iterator[None]:
    """Each test's companies leave the schedules shared by all companies when it ends, so a later
    test's minute schedule runs for its own companies only (companies made by a module's fixture
    stay until the run ends)."""
    made_before = len(MADE)
    yield
    retire_companies(MADE[made_before:])


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[RunningStack]:
    """A whole local stack as ``infrastructure/local/run.sh`` starts it (the e2e tests start it
    themselves); stopped at the end if the test left it running."""
    running = RunningStack(tmp_path / "local")
    yield running
    if running.process is not None and running.process.poll() is None:
        running.stop()


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[MailCatcher]:
    """A real SMTP server for this test, requiring the sender account's login (or Marta's, whose
    password has an ñ)."""
    credentials = {SMTP_USER: SMTP_PASSWORD, "marta": "contraseña-Ñandú"}
    with MailCatcher(tmp_path / "mail", credentials=credentials) as catcher:
        yield catcher


@pytest.fixture(autouse=True)
def caller_address(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The address this test's anonymous callers come from, its own, and the counts it made
    across companies forgotten when it ends: the public routes count their limits per client and
    per address across companies too, and the tests share DynamoDB Local and a frozen clock (ten
    tests asking alerts for ana@example.com would otherwise use up her day). A test that plays
    several clients sets ``LambdaEventConverter.LOCAL_SOURCE_IP`` itself."""
    import secrets

    from chalice.local import LambdaEventConverter

    from chalicelib.producers.tracking.limits import EVERY_COMPANY
    from chalicelib.store import rate_limits

    n = secrets.randbelow(2**17)
    address = f"198.{18 + n // 65536}.{n // 256 % 256}.{n % 256}"  # 198.18.0.0/15, for tests
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)
    counted: set[str] = set()
    hit = rate_limits.hit

    def hit_and_note(limit_key: str, limit: int, window_end: datetime, hits: int = 1) -> bool:
        if limit_key.startswith(f"{EVERY_COMPANY}#"):
            counted.add(limit_key)
        return hit(limit_key, limit, window_end, hits)

    monkeypatch.setattr(rate_limits, "hit", hit_and_note)
    yield address
    if counted:
        from chalicelib.store.models import RateLimitModel

        for key in counted:
            RateLimitModel(key).delete()


@pytest.fixture
def clock() -> Iterator[Any]:
    """The one clock, frozen at a known instant; tests move it with ``clock.set_now``."""
    from chalicelib.core import clock as the_clock

    the_clock.set_now(datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc))
    yield the_clock
    the_clock.set_now(None)


@pytest.fixture
def tenant(local_aws: dict[str, str], mailbox: MailCatcher, clock: Any) -> Tenant:
    """A company with the default catalog, a working SMTP sender account, alerts every minute."""
    purge_outbox_queue()
    return make_tenant(mailbox)


@pytest.fixture
def other_tenant(local_aws: dict[str, str], clock: Any) -> Tenant:
    return make_tenant(None, name="Otra Empresa")


@pytest.fixture(scope="session")
def api(local_aws: dict[str, str]) -> Iterator[Client]:
    from app import app

    with Client(app, stage_name="test") as client:
        yield client


@pytest.fixture(scope="module")
def site(api: Client) -> Iterator[Any]:
    """The staff console's browser tests (W2): the app and the local identity server, per module."""
    from tests.steps.console import console_site

    with console_site() as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium in Spanish, one per test module (a module may define its own)."""
    from tests.steps.browser import chromium

    with chromium("es") as driver:
        yield driver
