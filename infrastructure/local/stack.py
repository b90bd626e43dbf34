"""The local stack's command line: ``uv run python -m infrastructure.local.stack <command>``.

    run   [--port 8000] [--inbound-smtp-port 2525] [--sms-masivos-port 8086] ...
                          DynamoDB Local, moto, the mail catcher, ``chalice local``, the local
                          scheduler, the inbound SMTP server, the SES mailbox simulator and SNS
                          topic delivery, with the demo company; Ctrl-C stops everything
    mail  [--show N]      the messages the mail catcher caught (newest last), or message N's text
    sms   --from +549... "TEXT"   an SMS to the demo's two-way number, as AWS delivers it
    sms   --outbox        the SMS the stack sent (SNS in moto, the SMS gateway, SMS Masivos' stand-in)
    token [--company demo] [--level 1] [--user admin@demo]   a fresh staff JWT (level N: user levelN@demo)
    env   [--port 8000] [--dynamodb-port 8001] [--moto-port 5001] [--sms-masivos-port 8086]
                          the environment ``run`` gives the service, as ``export`` lines (on the
                          ports the running stack was given, read from ``.local/ports.json``;
                          a flag wins, and with no stack running the defaults)

Everything ``run`` keeps lives in ``<repo>/.local`` (git-ignored): DynamoDB's files, the KMS key,
the JWT signing key, the link signing key, the demo API key, the caught mail and the stored files
(moto's S3, written through to ``.local/s3``). A restart, even a kill -9, loses none of it; what it
loses of moto's memory is in the README (After any restart). Delete ``.local`` to start over.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess  # nosec B404 # argument lists only, never a shell (each call marked)
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import FrameType
from typing import Any

from infrastructure.local.aws_env import LOCAL_AWS_SECRET
from infrastructure.local.identity import AUDIENCE, ISSUER, LocalIdentity
from infrastructure.local.mailcatcher import MailCatcher, list_mail
from infrastructure.local.paths import LOCAL_DIR, REPO_ROOT, port_is_free
from infrastructure.ops_credentials import local_operator_token_hash

log = logging.getLogger(__name__)

STAGE = "local"
REGION = "us-east-1"
KMS_ALIAS = "alias/pregon-secrets"
# The invoice the README's walkthrough posts with its invoice event (made from the .typ beside it).
SAMPLE_INVOICE = Path(__file__).parent / "samples" / "factura-A-0001-00000042.pdf"
DEMO_SMTP_CREDENTIALS = {"demo": "demo-password"}
MOTO_SERVICES = ("KMS", "SESV2", "SES", "SQS", "SNS", "S3", "STS")


@dataclass(frozen=True)
class LocalPaths:
    """Where ``run`` keeps its state, under one folder (``.local`` by default)."""

    root: Path = LOCAL_DIR

    @property
    def dynamodb(self) -> Path:
        return self.root / "dynamodb"

    @property
    def mail(self) -> Path:
        return self.root / "mail"

    @property
    def sms(self) -> Path:
        """The SMS the local SMS gateway took, one JSON file each."""
        return self.root / "sms"

    @property
    def sms_masivos(self) -> Path:
        """The SMS SMS Masivos' stand-in took, one JSON file each, as SMS Masivos got them."""
        return self.root / "sms-masivos"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        """Pid files of the running stack and its children."""
        return self.root / "run"

    @property
    def s3(self) -> Path:
        """moto's S3 objects (stored files: PDFs, attachments, received mail, logos, exports), a
        folder per bucket (:mod:`infrastructure.local.s3_state`)."""
        return self.root / "s3"

    @property
    def kms_state(self) -> Path:
        return self.root / "kms-key.json"

    @property
    def jwt_key(self) -> Path:
        return self.root / "jwt-key.pem"

    @property
    def link_signing_key(self) -> Path:
        return self.root / "link-signing-key"

    @property
    def link_signing_keys_previous(self) -> Path:
        """The keys ``stack rotate-link-key`` replaced, newest first, one a line."""
        return self.root / "link-signing-keys-previous"

    @property
    def demo_credentials(self) -> Path:
        return self.root / "demo-credentials.json"

    @property
    def ports(self) -> Path:
        """The ports of the running stack, for the commands that talk to it (``sms``, ``env``, ``sendjob``,
        ``ops``)."""
        return self.root / "ports.json"

    @property
    def operator_token(self) -> Path:
        """O1/O2: the local operator token (``uv run python -m infrastructure.ops token``)."""
        return self.root / "operator-token"


@dataclass(frozen=True)
class Ports:
    api: int = 8000
    dynamodb: int = 8001
    moto: int = 5001
    smtp: int = 1025
    inbound_smtp: int = 2525
    sms_gateway: int = 8082
    identity: int = 8084  # the staff console's local sign-in (infrastructure/local/identity_server.py)
    sms_masivos: int = 8086  # SMS Masivos' stand-in (infrastructure/local/sms_masivos.py)


def running_ports(paths: LocalPaths) -> Ports:
    """The ports the stack running from ``paths`` was started with (the ports file ``run`` writes,
    and removes when it stops), or the defaults when none runs: the ports the commands that talk to
    the stack (``env``, ``sendjob``, ``ops``) use where no flag names one."""
    try:
        written = json.loads(paths.ports.read_text())
        return Ports(**{f.name: int(written[f.name]) for f in fields(Ports) if f.name in written})
    except (OSError, ValueError, TypeError):
        return Ports()


def with_flags(ports: Ports, **flags: int | None) -> Ports:
    """``ports`` with those a command's flags name (None: not given) put in their place."""
    return replace(ports, **{name: port for name, port in flags.items() if port is not None})


def _write_secret(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.chmod(partial, 0o600)
    partial.replace(path)


def link_signing_key(path: Path) -> str:
    """The key that signs unsubscribe links, created once so links keep working after a restart."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    _write_secret(path, key + "\n")
    return key


def previous_link_signing_keys(path: Path) -> str:
    """The keys a local rotation replaced, comma-separated (``PREGON_LINK_SIGNING_KEYS_PREVIOUS``)."""
    return ",".join(path.read_text().split()) if path.exists() else ""


def rotate_link_signing_key(paths: LocalPaths) -> None:
    """The local stack's rotation (docs/operations.md, "Rotating the link-signing key"): a new key
    signs from the next start; the one it replaces goes first in the previous keys, where it only
    verifies the links already sent."""
    old = link_signing_key(paths.link_signing_key)
    earlier = previous_link_signing_keys(paths.link_signing_keys_previous).split(",")
    _write_secret(paths.link_signing_keys_previous, "\n".join([old, *filter(None, earlier)]) + "\n")
    _write_secret(paths.link_signing_key, secrets.token_urlsafe(32) + "\n")


def service_environment(
    paths: LocalPaths, ports: Ports, *, dynamodb_endpoint: str, moto_endpoint: str
) -> dict[str, str]:
    """The environment the service runs with locally: AWS SDK endpoints and Pregón settings."""
    env = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": LOCAL_AWS_SECRET,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": dynamodb_endpoint,
        "PREGON_STAGE": STAGE,
        "PREGON_TABLE_PREFIX": "pregon-local-",
        "PREGON_KMS_KEY_ID": KMS_ALIAS,
        "PREGON_LINK_SIGNING_KEY": link_signing_key(paths.link_signing_key),
        "PREGON_LINK_SIGNING_KEYS_PREVIOUS": previous_link_signing_keys(paths.link_signing_keys_previous),
        "PREGON_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports.api}",
        # W2: the console signs staff in with the local identity server (the stack starts it).
        "PREGON_CONSOLE_IDENTITY_URL": f"http://127.0.0.1:{ports.identity}",
        "PREGON_JWKS": LocalIdentity(paths.jwt_key).jwks_json(),
        "PREGON_JWT_ISSUER": ISSUER,
        "PREGON_JWT_AUDIENCE": AUDIENCE,
        # The local mail catcher (and a local SMS gateway) listen on 127.0.0.1; private ranges stay refused.
        "PREGON_ALLOW_LOOPBACK_DESTINATIONS": "1",
        # The sms_masivos provider sends to the local stand-in, never to the real SMS Masivos.
        "SMS_MASIVOS_URL": f"http://127.0.0.1:{ports.sms_masivos}/enviar_sms.asp",
        "PREGON_OPERATOR_TOKEN_SHA256": local_operator_token_hash(paths.operator_token),
    }
    for service in MOTO_SERVICES:
        env[f"AWS_ENDPOINT_URL_{service}"] = moto_endpoint
    return env


def chalice_stage_environment(stage: str = STAGE, project_dir: Path = REPO_ROOT) -> dict[str, str]:
    """The env vars ``.chalice/config.json`` gives ``stage`` (``chalice local`` applies them too)."""
    config_file = project_dir / ".chalice" / "config.json"
    if not config_file.exists():
        return {}
    config = json.loads(config_file.read_text())
    env = {str(k): str(v) for k, v in config.get("environment_variables", {}).items()}
    stage_config = config.get("stages", {}).get(stage, {})
    env.update({str(k): str(v) for k, v in stage_config.get("environment_variables", {}).items()})
    return env


def _apply_environment(env: dict[str, str]) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    os.environ.update(env)
    # Settings and clients are cached per process; start from the environment just set.
    from chalicelib.core.aws import reset_clients
    from chalicelib.core.settings import reset_settings

    reset_settings()
    reset_clients()


def _take_over_from_a_dead_run(paths: LocalPaths) -> None:
    """Refuse to start beside a running stack; stop what a killed one left running."""
    from infrastructure.local.processes import STACK, record, running_stack, stop_leftovers

    other = running_stack(paths.run)
    if other is not None:
        raise SystemExit(
            f"the local stack is already running from {paths.root} (pid {other}). Stop it with "
            f"Ctrl-C in its terminal (or `kill {other}`), or use another --local-dir."
        )
    stopped = stop_leftovers(paths.run)
    if stopped:
        log.warning("stopped what the previous run left behind: %s", ", ".join(stopped))
    record(paths.run, STACK, os.getpid(), "infrastructure.local.stack")


def _check_ports_free(ports: Ports) -> None:
    busy = [f"{name} {port}" for name, port in vars(ports).items() if not port_is_free(port)]
    if busy:
        raise SystemExit(
            f"port(s) already in use: {', '.join(busy)}. Is the stack running in another "
            "terminal? Stop it, or choose other ports (see --help)."
        )


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"chalice local exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"chalice local did not listen on port {port} within {timeout:.0f}s")


def _chalice_executable() -> str:
    beside_python = Path(sys.executable).parent / "chalice"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("chalice")
    if found is None:
        raise SystemExit("the chalice command is not installed; run `uv sync` first")
    return found


def _stop_process(process: subprocess.Popen[bytes], name: str, timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop within %.0fs; killing it", name, timeout)
        process.kill()
        process.wait(timeout=5)


def _banner(
    ports: Ports, paths: LocalPaths, demo: dict[str, Any], admin_token: str, scheduled: list[str]
) -> str:
    api = f"http://127.0.0.1:{ports.api}"
    mail_command = "uv run python -m infrastructure.local.stack mail"
    lines = [
        "",
        "=" * 78,
        f" Pregón is running locally (stage {STAGE})",
        "=" * 78,
        f" API              {api}",
        f" Demo company     {demo['company_id']} ({demo['company_name']})",
        f" Tracking page    {api}/track/{demo['company_id']}  (W1: what end customers see)",
        f" Staff console    {api}/console  (W2: sign in as a demo user of level 1 to 4)",
        f"   local identity http://127.0.0.1:{ports.identity} (signs the console's demo users in)",
        " Admin JWT        user admin@demo, level 1; send as  Authorization: Bearer <token>",
        f"   {admin_token}",
        " Integration key  for the company's systems; send as  Authorization: ApiKey <key>",
        f"   {demo['api_key']}",
        f" Caught mail      {paths.mail}",
        f"   list: {mail_command}    read one: {mail_command} --show N",
        f" SMTP catcher     127.0.0.1:{ports.smtp} (login demo / demo-password)",
        f" Inbound SMTP     127.0.0.1:{ports.inbound_smtp}  (SES receiving) mail to"
        f" {demo['company_id']}@{demo['inbound_domain']}",
        f" Phone            {demo['inbound_number']} is the demo's two-way number; text it with",
        '   uv run python -m infrastructure.local.stack sms --from +5491159876543 "SALDO"',
        "   the SMS sent: uv run python -m infrastructure.local.stack sms --outbox",
        f" SMS gateway      http://127.0.0.1:{ports.sms_gateway} (Android SMS Gateway API; login sms /"
        " local-gateway-password)",
        f" SMS Masivos      http://127.0.0.1:{ports.sms_masivos}/enviar_sms.asp (its stand-in; login demo /"
        " local-masivos-password)",
        " SES simulator    SES sends to success@ / bounce@ / complaint@ / suppressionlist@"
        "simulator.amazonses.com publish their events",
        f" DynamoDB Local   http://127.0.0.1:{ports.dynamodb} (files in {paths.dynamodb})",
        f" moto (AWS APIs)  http://127.0.0.1:{ports.moto} (sent SES/SNS: /moto-api/data.json)",
        f"   stored files (S3) in {paths.s3}",
        f" Schedules        {', '.join(scheduled) or 'none'}",
        " New token        uv run python -m infrastructure.local.stack token --level 2",
        "=" * 78,
        " Ctrl-C stops everything; the data and stored files in .local/ outlive a restart (a kill -9",
        " too); moto's record of what SES/SNS sent does not (README, After any restart). Delete .local/",
        " to start over.",
        "",
    ]
    return "\n".join(lines)


def run(ports: Ports, paths: LocalPaths = LocalPaths()) -> int:
    """Start the whole local stack and wait until Ctrl-C or SIGTERM; returns the exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("botocore", "boto3", "urllib3", "pynamodb", "mail.log", "werkzeug"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if not (REPO_ROOT / "app.py").exists():
        raise SystemExit(f"{REPO_ROOT / 'app.py'} is missing: there is no service to run yet")
    _take_over_from_a_dead_run(paths)
    _check_ports_free(ports)
    for folder in (paths.root, paths.dynamodb, paths.mail, paths.logs):
        folder.mkdir(parents=True, exist_ok=True)

    stop = threading.Event()
    started = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()
        if not started.is_set():
            raise KeyboardInterrupt  # abandon startup; the ExitStack stops what already runs

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        return _run_until_stopped(ports, paths, stop, started)
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run_until_stopped(
    ports: Ports, paths: LocalPaths, stop: threading.Event, started: threading.Event
) -> int:
    from infrastructure.local.dynamodb import DynamoDBLocal
    from infrastructure.local.motoserver import MotoServer, ensure_kms_key
    from infrastructure.local.processes import STACK, dies_with_parent, forget, record

    with ExitStack() as running:
        # Once shutting down, further Ctrl-C presses must not cut the cleanup short.
        running.callback(signal.signal, signal.SIGINT, signal.SIG_IGN)
        running.callback(forget, paths.run, STACK)
        dynamodb = DynamoDBLocal(
            port=ports.dynamodb,
            db_path=paths.dynamodb,
            log_file=paths.logs / "dynamodb.log",
            run_dir=paths.run,
        )
        running.enter_context(dynamodb)
        moto = running.enter_context(MotoServer(port=ports.moto, state_dir=paths.s3))
        running.enter_context(MailCatcher(paths.mail, port=ports.smtp, credentials=DEMO_SMTP_CREDENTIALS))

        env = service_environment(
            paths, ports, dynamodb_endpoint=dynamodb.endpoint, moto_endpoint=moto.endpoint
        )
        stage_env = chalice_stage_environment()
        overridden = sorted(k for k in stage_env if k in env and stage_env[k] != env[k])
        if overridden:
            log.warning(".chalice/config.json (stage %s) overrides %s", STAGE, ", ".join(overridden))
        _apply_environment({**env, **stage_env})

        ensure_kms_key(moto.endpoint, KMS_ALIAS, state_file=paths.kms_state, region=REGION)

        from chalicelib.store.tables import create_tables
        from infrastructure.local.demo import seed_demo_company

        create_tables()
        from infrastructure.local.queues import ensure_local_resources

        ensure_local_resources()
        from infrastructure.local.ses_identities import restore_sending_domains

        # before the scheduler's first domain check: what moto's SES forgot since the last run
        restore_sending_domains()
        demo = seed_demo_company(paths.demo_credentials, smtp_port=ports.smtp)
        _start_aws_loops(running, ports, paths, moto.endpoint)

        chalice = subprocess.Popen(  # nosec B603 # chalice local with our fixed arguments
            dies_with_parent(
                [
                    _chalice_executable(),
                    "local",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ports.api),
                    "--stage",
                    STAGE,
                    "--no-autoreload",
                ]
            ),
            cwd=REPO_ROOT,
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # we stop it in order on Ctrl-C
        )
        record(paths.run, "chalice", chalice.pid, "chalice local")
        running.callback(forget, paths.run, "chalice")
        running.callback(_stop_process, chalice, "chalice local")
        _wait_for_port(ports.api, chalice)

        scheduler = _start_scheduler(running)
        _start_queue_runner(running)
        admin_token = LocalIdentity(paths.jwt_key).mint(
            demo["company_id"], user_id="admin@demo", level=1, name="Demo Admin"
        )
        print(_banner(ports, paths, demo, admin_token, scheduler), flush=True)
        started.set()
        if stop.is_set():
            return 0

        while not stop.wait(1.0):
            if chalice.poll() is not None:
                log.error("chalice local exited with status %s; stopping", chalice.returncode)
                return chalice.returncode or 1
        return 0


def _start_aws_loops(running: ExitStack, ports: Ports, paths: LocalPaths, moto_endpoint: str) -> None:
    """What AWS does around the service: SES receiving on the inbound SMTP port, the SES mailbox
    simulator's events (SNS delivery to the handlers is the queue runner's); and the ports file."""
    from infrastructure.local.identity_server import IdentityServer
    from infrastructure.local.inbound_smtp import InboundSmtp
    from infrastructure.local.ses_simulator import SesMailboxSimulator
    from infrastructure.local.sms_gateway import SmsGatewayCatcher
    from infrastructure.local.sms_masivos import SmsMasivosStandIn

    running.enter_context(SesMailboxSimulator())
    running.enter_context(SmsGatewayCatcher(paths.sms, port=ports.sms_gateway))
    running.enter_context(SmsMasivosStandIn(port=ports.sms_masivos, folder=paths.sms_masivos))
    running.enter_context(InboundSmtp(port=ports.inbound_smtp))
    running.enter_context(
        IdentityServer(
            LocalIdentity(paths.jwt_key),
            allowed_origin=(f"http://127.0.0.1:{ports.api}", f"http://localhost:{ports.api}"),
            company_id="demo",
            port=ports.identity,
        )
    )
    partial = paths.ports.with_name(paths.ports.name + ".partial")
    partial.write_text(json.dumps({**vars(ports), "moto_endpoint": moto_endpoint}))
    partial.replace(paths.ports)
    running.callback(paths.ports.unlink, missing_ok=True)


def _start_queue_runner(running: ExitStack) -> None:
    """The outbox workers: moto's SQS polled, the deployed ``on_sqs_message`` handlers invoked."""
    from app import app
    from infrastructure.local.queues import LocalQueueRunner

    running.enter_context(LocalQueueRunner(app))


def _start_scheduler(running: ExitStack) -> list[str]:
    from infrastructure.local.scheduler import LocalScheduler

    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    vendor = REPO_ROOT / "vendor"
    if vendor.is_dir() and str(vendor) not in sys.path:
        sys.path.append(str(vendor))  # as chalice local does
    from app import app

    scheduler = running.enter_context(LocalScheduler(app, region=REGION, stage=STAGE))
    return [f"{job.name} {job.expression}" for job in scheduler.jobs.values()]


def _text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return "(no text part)"
    content = body.get_content()
    # The text as the terminal shows it: the wire's CRLF would leave a CR after a link grep takes
    return content.replace("\r\n", "\n") if isinstance(content, str) else repr(content)


def show_mail(maildir: Path, show: int | None) -> int:
    caught = list_mail(maildir)
    if show is None:
        if not caught:
            print(f"no mail caught yet in {maildir}")
            return 0
        for index, mail in enumerate(caught, start=1):
            print(f"{index:>4}  {mail.date:<31}  {mail.to:<32}  {mail.subject}")
            print(f"      {mail.path}")
        return 0
    if not 1 <= show <= len(caught):
        print(f"there is no message {show}; {len(caught)} caught in {maildir}", file=sys.stderr)
        return 1
    path = caught[show - 1].path
    message = BytesParser(_class=EmailMessage, policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    shown = ("Date", "From", "To", "Cc", "Reply-To", "Subject", "List-Unsubscribe", "List-Unsubscribe-Post")
    for header in (*shown, "X-Pregon-Envelope-To"):
        if message.get(header):
            print(f"{header}: {message[header]}")
    print(f"File: {path}\n")
    print(_text_of(message))
    return 0


def _running_moto(paths: LocalPaths) -> str:
    """The running stack's moto endpoint (from the ports file ``run`` writes), checked to answer."""
    from urllib.parse import urlsplit

    not_running = SystemExit(
        f"the local stack is not running from {paths.root}: start it with infrastructure/local/run.sh"
    )
    try:
        endpoint = str(json.loads(paths.ports.read_text())["moto_endpoint"])
        where = urlsplit(endpoint)
        with socket.create_connection((where.hostname or "127.0.0.1", where.port or 80), timeout=2):
            return endpoint
    except (OSError, ValueError, KeyError):
        raise not_running from None


def phone(
    paths: LocalPaths, origination: str | None, text: str | None, destination: str | None, *, outbox: bool
) -> int:
    """``stack sms``: send an inbound SMS to the running stack, or list the SMS it sent."""
    from infrastructure.local.phone import DEMO_INBOUND_NUMBER, send_inbound_sms, sent_sms
    from infrastructure.local.sms_gateway import caught_sms

    moto_endpoint = _running_moto(paths)
    if outbox:
        sent = [("sns", s["to"], s["text"]) for s in sent_sms(moto_endpoint)]
        sent += [("gateway", ", ".join(s["to"]), s["text"]) for s in caught_sms(paths.sms)]
        sent += [("masivos", ", ".join(s["to"]), s["text"]) for s in caught_sms(paths.sms_masivos)]
        if not sent:
            print("no SMS sent yet")
        for index, (route, to, text) in enumerate(sent, start=1):
            print(f"{index:>4}  {to:<16}  {route:<7}  {text}")
        return 0
    if not origination or not text:
        print('usage: stack sms --from +5491159876543 "SALDO"   (or: stack sms --outbox)', file=sys.stderr)
        return 2
    os.environ.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY=LOCAL_AWS_SECRET,
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL_SNS=moto_endpoint,
    )
    from chalicelib.core.aws import reset_clients

    reset_clients()
    message_id = send_inbound_sms(origination, text, destination or DEMO_INBOUND_NUMBER)
    print(f"delivered to {destination or DEMO_INBOUND_NUMBER} as inbound SMS {message_id}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infrastructure.local.stack", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--local-dir",
        type=Path,
        default=Path(os.environ.get("PREGON_LOCAL_DIR") or LOCAL_DIR),
        help="state folder (default .local, or $PREGON_LOCAL_DIR)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run_cmd = commands.add_parser("run", help="run the whole service locally")
    run_cmd.add_argument("--port", type=int, default=Ports.api, help="API port (default 8000)")
    run_cmd.add_argument("--dynamodb-port", type=int, default=Ports.dynamodb)
    run_cmd.add_argument("--moto-port", type=int, default=Ports.moto)
    run_cmd.add_argument("--smtp-port", type=int, default=Ports.smtp)
    run_cmd.add_argument(
        "--inbound-smtp-port", type=int, default=Ports.inbound_smtp, help="inbound mail (default 2525)"
    )
    run_cmd.add_argument(
        "--sms-gateway-port", type=int, default=Ports.sms_gateway, help="local SMS gateway (default 8082)"
    )
    run_cmd.add_argument(
        "--identity-port", type=int, default=Ports.identity, help="the console's local sign-in (default 8084)"
    )
    run_cmd.add_argument(
        "--sms-masivos-port", type=int, default=Ports.sms_masivos, help="SMS Masivos' stand-in (default 8086)"
    )

    mail_cmd = commands.add_parser("mail", help="list the caught mail, newest last")
    mail_cmd.add_argument("--show", type=int, metavar="N", help="print message N's main headers and text")

    sms_cmd = commands.add_parser("sms", help="text the demo's two-way number, or list the SMS sent")
    sms_cmd.add_argument("text", nargs="?", help='the SMS, e.g. "SALDO"')
    sms_cmd.add_argument("--from", dest="origination", metavar="NUMBER", help="the sender's phone")
    sms_cmd.add_argument("--to", dest="destination", metavar="NUMBER", help="the two-way number (the demo's)")
    sms_cmd.add_argument("--outbox", action="store_true", help="list the SMS the stack sent")

    token_cmd = commands.add_parser("token", help="print a fresh staff JWT")
    token_cmd.add_argument("--company", default="demo")
    token_cmd.add_argument("--level", type=int, default=1, choices=(1, 2, 3, 4))
    token_cmd.add_argument(
        "--user",
        help="the user (default: admin@<company> at level 1, else level<N>@<company>: the directory keeps a "
        "user's first level, so admin@demo stays level 1 whatever --level says)",
    )
    token_cmd.add_argument("--branch")
    token_cmd.add_argument("--department")
    token_cmd.add_argument("--name")
    token_cmd.add_argument("--hours", type=float, default=12.0, help="validity (default 12)")

    commands.add_parser(
        "sample-invoice", help="print the walkthrough's sample invoice PDF, base64 (samples/factura-*.pdf)"
    )

    commands.add_parser(
        "rotate-link-key",
        help="sign links with a new key from the next start; the old one still verifies links already sent",
    )

    env_cmd = commands.add_parser(
        "env",
        help="print the service environment as export lines, on the running stack's ports "
        "(.local/ports.json) unless a flag names one",
    )
    env_cmd.add_argument("--port", type=int, help="the API's (default: the running stack's, else 8000)")
    env_cmd.add_argument("--dynamodb-port", type=int, help="default: the running stack's, else 8001")
    env_cmd.add_argument("--moto-port", type=int, help="default: the running stack's, else 5001")
    env_cmd.add_argument(
        "--sms-masivos-port", type=int, help="SMS Masivos' stand-in (default: the running stack's, else 8086)"
    )
    env_cmd.add_argument(
        "--identity-port",
        type=int,
        help="the local identity server, the console's sign-in (default: the running stack's, else 8084)",
    )
    return parser


def default_token_user(company_id: str, level: int) -> str:
    """Whom ``stack token`` speaks for when no ``--user`` is given: the staff directory is the truth
    once it knows a user (U1), and it knows the demo's ``admin@demo`` at level 1, so a token of
    another level is another user's, added at that level the first time it is seen."""
    return f"admin@{company_id}" if level == 1 else f"level{level}@{company_id}"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    paths = LocalPaths(args.local_dir.resolve())
    if args.command == "run":
        ports = Ports(
            args.port,
            args.dynamodb_port,
            args.moto_port,
            args.smtp_port,
            args.inbound_smtp_port,
            args.sms_gateway_port,
            args.identity_port,
            args.sms_masivos_port,
        )
        return run(ports, paths)
    if args.command == "sms":
        return phone(paths, args.origination, args.text, args.destination, outbox=args.outbox)
    if args.command == "mail":
        return show_mail(paths.mail, args.show)
    if args.command == "token":
        identity = LocalIdentity(paths.jwt_key)
        print(
            identity.mint(
                args.company,
                user_id=args.user or default_token_user(args.company, args.level),
                level=args.level,
                branch=args.branch,
                department=args.department,
                name=args.name,
                ttl=timedelta(hours=args.hours),
            )
        )
        return 0
    if args.command == "sample-invoice":
        print(base64.b64encode(SAMPLE_INVOICE.read_bytes()).decode("ascii"))
        return 0
    if args.command == "rotate-link-key":
        rotate_link_signing_key(paths)
        print("a new link-signing key signs from the stack's next start (infrastructure/local/run.sh);")
        print(f"the keys it replaced, in {paths.link_signing_keys_previous}, still verify links already sent")
        return 0
    if args.command == "env":
        ports = with_flags(
            running_ports(paths),
            api=args.port,
            dynamodb=args.dynamodb_port,
            moto=args.moto_port,
            identity=args.identity_port,
            sms_masivos=args.sms_masivos_port,
        )
        env = service_environment(
            paths,
            ports,
            dynamodb_endpoint=f"http://127.0.0.1:{ports.dynamodb}",
            moto_endpoint=f"http://127.0.0.1:{ports.moto}",
        )
        for name, value in env.items():
            print(f"export {name}='{value}'")
        return 0
    raise AssertionError(args.command)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # The reader stopped reading (`stack mail | grep -m1 ...`): it has what it wanted, so stop
        # quietly with success, not a traceback that fails a `set -o pipefail` script.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
