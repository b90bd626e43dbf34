"""The local stack's parts are real and do what the run command relies on.

DynamoDB Local answers; the mail catcher is a real SMTP server with AUTH; the KMS key survives a
moto restart; the local scheduler fires scheduled functions; the local identity's tokens verify
against its JWKS.
"""

from __future__ import annotations

import base64
import json
import os
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from chalice.app import Chalice, Rate

from infrastructure.local.dynamodb import DynamoDBLocal
from infrastructure.local.identity import LocalIdentity
from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients, list_mail
from infrastructure.local.motoserver import MotoServer, ensure_kms_key, kms_client
from infrastructure.local.paths import REPO_ROOT, port_is_free
from infrastructure.local.scheduler import LocalScheduler
from infrastructure.local.stack import main as stack_main

CREDENTIALS = {"demo": "demo-password"}


@pytest.fixture
def mail_catcher(tmp_path: Path) -> Iterator[MailCatcher]:
    with MailCatcher(tmp_path / "mail", credentials=CREDENTIALS) as catcher:
        yield catcher


def _notice(subject: str = "Tu envío 123 está en reparto") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Demo Envíos <avisos@demo.example>"
    message["To"] = "cliente@example.com"
    message["Subject"] = subject
    message.set_content("Hola, tu envío llega hoy.")
    return message


def test_dynamodb_local_starts_in_memory_and_answers() -> None:
    # Given a fresh in-memory DynamoDB Local on a free port
    with DynamoDBLocal() as dynamodb:
        client = dynamodb.client()
        # When a table is created and an item written
        client.create_table(
            TableName="things",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName="things", Item={"pk": {"S": "a"}, "note": {"S": "hola"}})
        # Then the item reads back from the real engine
        item = client.get_item(TableName="things", Key={"pk": {"S": "a"}})["Item"]
        assert item["note"] == {"S": "hola"}
        assert client.list_tables()["TableNames"] == ["things"]
        port = dynamodb.port
        # And Java compiles it with the first tier only (the tests' and the local stack's CPU)
        java_arguments = Path(f"/proc/{dynamodb.pid}/cmdline").read_bytes().split(b"\0")
        assert b"-XX:TieredStopAtLevel=1" in java_arguments
        # And it was told not to report itself to AWS (DynamoDB Local's telemetry)
        assert b"-disableTelemetry" in java_arguments
    # And once stopped, its port is released
    assert port_is_free(port)
    # And a benchmark's DynamoDB Local gets Java's full compiler, as every benchmark run before had
    assert "-XX:TieredStopAtLevel=1" not in DynamoDBLocal(full_jit=True).command(Path("jar"))


def test_dynamodb_local_persists_to_its_folder_across_restarts(tmp_path: Path) -> None:
    # Given DynamoDB Local persisted in a folder, with one table
    with DynamoDBLocal(db_path=tmp_path / "db", log_file=tmp_path / "dynamodb.log") as dynamodb:
        dynamodb.client().create_table(
            TableName="kept",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    # When it is started again on the same folder
    with DynamoDBLocal(db_path=tmp_path / "db", log_file=tmp_path / "dynamodb.log") as dynamodb:
        # Then the table is still there
        assert dynamodb.client().list_tables()["TableNames"] == ["kept"]


def test_mail_catcher_catches_an_authenticated_message_into_a_file(mail_catcher: MailCatcher) -> None:
    # Given an SMTP client that logs in with the catcher's credentials
    with smtplib.SMTP("127.0.0.1", mail_catcher.port, timeout=10) as smtp:
        smtp.login("demo", "demo-password")
        # When it sends a notice to a visible and a blind-copied recipient
        smtp.send_message(_notice(), to_addrs=["cliente@example.com", "oculto@example.com"])

    # Then the message arrives, parsed, with its envelope recipients
    [message] = mail_catcher.wait_for(1)
    assert message["Subject"] == "Tu envío 123 está en reparto"
    assert message.get_content().strip() == "Hola, tu envío llega hoy."
    assert envelope_recipients(message) == ["cliente@example.com", "oculto@example.com"]
    # And it is an .eml file a person can open, named by arrival and subject
    [caught] = list_mail(mail_catcher.maildir)
    assert caught.path.suffix == ".eml"
    assert caught.path.name.endswith("-000001-tu-envio-123-esta-en-reparto.eml")
    assert (caught.subject, caught.to) == ("Tu envío 123 está en reparto", "cliente@example.com")


def test_mail_catcher_rejects_a_wrong_password_with_535(mail_catcher: MailCatcher) -> None:
    # Given an SMTP client with a wrong password
    with smtplib.SMTP("127.0.0.1", mail_catcher.port, timeout=10) as smtp:
        # When it logs in
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.login("demo", "not-the-password")
        # Then the server answers with the standard 535 and its text
        assert refused.value.smtp_code == 535
        assert refused.value.smtp_error == b"5.7.8 Authentication credentials invalid"
        # And sending without logging in is refused too
        with pytest.raises(smtplib.SMTPSenderRefused) as unauthenticated:
            smtp.send_message(_notice())
        assert unauthenticated.value.smtp_code == 530
    # And nothing was caught
    assert mail_catcher.messages() == []


def test_mail_catcher_keeps_arrival_order_and_clears(mail_catcher: MailCatcher) -> None:
    # Given three messages sent one after the other
    with smtplib.SMTP("127.0.0.1", mail_catcher.port, timeout=10) as smtp:
        smtp.login("demo", "demo-password")
        for number in (1, 2, 3):
            smtp.send_message(_notice(f"Aviso {number}"))
    # When they are read back
    messages = mail_catcher.wait_for(3)
    # Then they come in arrival order
    assert [m["Subject"] for m in messages] == ["Aviso 1", "Aviso 2", "Aviso 3"]
    # And clear() empties the mailbox
    mail_catcher.clear()
    assert mail_catcher.messages() == []


def test_mail_command_lists_and_shows_caught_mail(
    mail_catcher: MailCatcher, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given one caught message in the stack's mail folder, with an alert's unsubscribe headers and a
    # text of two lines (CRLF on the wire, as every e-mail)
    notice = _notice("Tu envío llegó")
    notice.set_content("Hola, tu envío llega hoy.\nBaja: https://pregon.example/public/unsubscribe?token=abc")
    notice["List-Unsubscribe"] = "<https://pregon.example/public/unsubscribe?token=abc>"
    notice["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    with smtplib.SMTP("127.0.0.1", mail_catcher.port, timeout=10) as smtp:
        smtp.login("demo", "demo-password")
        smtp.send_message(notice)
    mail_catcher.wait_for(1)

    # When the mail command lists it and shows message 1
    assert stack_main(["--local-dir", str(tmp_path), "mail"]) == 0
    listing = capsys.readouterr().out
    assert stack_main(["--local-dir", str(tmp_path), "mail", "--show", "1"]) == 0
    shown = capsys.readouterr().out

    # Then the listing names it and the text part is printed
    assert "   1  " in listing and "cliente@example.com" in listing and "Tu envío llegó" in listing
    assert "Subject: Tu envío llegó" in shown and "Hola, tu envío llega hoy." in shown
    # And the unsubscribe headers the README says an alert carries, and the text's lines end as the
    # terminal's do: a link taken from it with grep is the link, no CR after it (README, step 3)
    assert "List-Unsubscribe: <https://pregon.example/public/unsubscribe?token=abc>" in shown
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in shown
    assert "\r" not in shown
    assert "\nBaja: https://pregon.example/public/unsubscribe?token=abc\n" in shown


_FIRST_LIFE = """
import base64, json, sys
from pathlib import Path
from infrastructure.local.motoserver import MotoServer, ensure_kms_key, kms_client
with MotoServer() as moto:
    key_id = ensure_kms_key(moto.endpoint, alias=sys.argv[2], state_file=Path(sys.argv[1]))
    blob = kms_client(moto.endpoint).encrypt(
        KeyId=sys.argv[2], Plaintext=b"smtp-s3cret", EncryptionContext={"company_id": "demo"}
    )["CiphertextBlob"]
print(json.dumps({"key_id": key_id, "ciphertext": base64.b64encode(blob).decode()}))
"""


def test_kms_key_survives_a_moto_restart(tmp_path: Path) -> None:
    # Given a moto server, in a process of its own, that encrypted a password under the key
    # (moto's state is per process and shared by its servers, so this test uses an alias of its own)
    state_file = tmp_path / "kms-key.json"
    alias = "alias/restart-test"
    first_life = subprocess.run(
        [sys.executable, "-c", _FIRST_LIFE, str(state_file), alias],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    before = json.loads(first_life.stdout.strip().splitlines()[-1])

    # When moto starts again (its memory is empty) and the key is ensured from the state file
    with MotoServer() as moto:
        key_id = ensure_kms_key(moto.endpoint, alias=alias, state_file=state_file)
        plaintext = kms_client(moto.endpoint).decrypt(
            CiphertextBlob=base64.b64decode(before["ciphertext"]),
            EncryptionContext={"company_id": "demo"},
        )["Plaintext"]

        # Then it is the same key, under the same alias, and the old ciphertext decrypts
        assert key_id == before["key_id"]
        assert plaintext == b"smtp-s3cret"
        aliases = kms_client(moto.endpoint).list_aliases(KeyId=key_id)["Aliases"]
        assert [a["AliasName"] for a in aliases] == [alias]
        # And ensuring it again changes nothing
        assert ensure_kms_key(moto.endpoint, alias=alias, state_file=state_file) == key_id


_S3_FIRST_LIFE = """
import os, sys
from pathlib import Path
import boto3
from infrastructure.local.motoserver import MotoServer
bucket = sys.argv[2]
with MotoServer(state_dir=Path(sys.argv[1])) as moto:
    s3 = boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="acme/documents/F-1.pdf", Body=b"%PDF-1.7 factura",
                  ContentType="application/pdf", Metadata={"filename": "F-1.pdf"},
                  Tagging="pregon-purpose=documents")
    s3.put_object(Bucket=bucket, Key="acme/gone.txt", Body=b"soon deleted")
    s3.delete_object(Bucket=bucket, Key="acme/gone.txt")
    s3.put_object(Bucket=bucket, Key="acme/logo.png", Body=b"first logo")
    s3.put_object(Bucket=bucket, Key="acme/logo.png", Body=b"\\x89PNG second logo", ContentType="image/png")
    s3.put_object_tagging(Bucket=bucket, Key="acme/logo.png",
                          Tagging={"TagSet": [{"Key": "pregon-purpose", "Value": "logos"}]})
    s3.copy_object(Bucket=bucket, Key="acme/portal/F-1.pdf",
                   CopySource={"Bucket": bucket, "Key": "acme/documents/F-1.pdf"})
    upload = s3.create_multipart_upload(Bucket=bucket, Key="acme/exports/report.zip",
                                        ContentType="application/zip", Tagging="pregon-purpose=exports")
    parts = [(1, b"P" * 300), (2, b"K tail")]  # parts of 256 bytes or more: the environment
    done = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key="acme/exports/report.zip",
             UploadId=upload["UploadId"], PartNumber=n, Body=body)["ETag"]} for n, body in parts]
    s3.complete_multipart_upload(Bucket=bucket, Key="acme/exports/report.zip", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": done})
    print(s3.head_object(Bucket=bucket, Key="acme/exports/report.zip")["ETag"], flush=True)
    os.kill(os.getpid(), 9)  # no clean stop: what was answered must already be on disk
"""


def test_s3_objects_survive_a_killed_moto(tmp_path: Path) -> None:
    # Given a moto server with a state folder, in a process of its own, that stored objects
    # (put with a type, metadata and tags; overwritten and tagged; copied; deleted; a multipart
    # upload) and was then killed with SIGKILL (moto's state is per process, so a bucket of its own)
    state_dir = tmp_path / "s3"
    bucket = "restart-test-files"
    first_life = subprocess.run(
        [sys.executable, "-c", _S3_FIRST_LIFE, str(state_dir), bucket],
        cwd=REPO_ROOT,
        env={**os.environ, "S3_UPLOAD_PART_MIN_SIZE": "256"},  # moto's least part, not 5 MiB
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first_life.returncode == -9, first_life.stderr
    zip_etag = first_life.stdout.strip().splitlines()[-1]

    # When a moto server starts again over the same folder
    with MotoServer(state_dir=state_dir) as moto:
        s3 = boto3.client(
            "s3",
            endpoint_url=moto.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",  # nosec B106 # moto accepts any key
        )

        def stored(key: str) -> tuple[bytes, str, dict[str, str], dict[str, str], str]:
            answer = s3.get_object(Bucket=bucket, Key=key)
            tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
            return (
                answer["Body"].read(),
                answer["ContentType"],
                answer["Metadata"],
                {t["Key"]: t["Value"] for t in tags},
                answer["ETag"],
            )

        # Then it serves the same bytes, types, metadata and tags, and the deleted object is gone
        pdf = stored("acme/documents/F-1.pdf")
        assert pdf[:4] == (
            b"%PDF-1.7 factura",
            "application/pdf",
            {"filename": "F-1.pdf"},
            {"pregon-purpose": "documents"},
        )
        assert stored("acme/portal/F-1.pdf")[:4] == pdf[:4]
        assert stored("acme/logo.png")[:4] == (
            b"\x89PNG second logo",
            "image/png",
            {},
            {"pregon-purpose": "logos"},
        )
        report = stored("acme/exports/report.zip")
        assert report[0] == b"P" * 300 + b"K tail"
        assert report[1:] == ("application/zip", {}, {"pregon-purpose": "exports"}, zip_etag)
        listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
        assert sorted(o["Key"] for o in listed) == [
            "acme/documents/F-1.pdf",
            "acme/exports/report.zip",
            "acme/logo.png",
            "acme/portal/F-1.pdf",
        ]
        # And a conditional write holds against the ETag from before the restart
        s3.put_object(Bucket=bucket, Key="acme/exports/report.zip", Body=b"next", IfMatch=zip_etag)

        # And a delete removes the copy on disk: what is left is one body and one record an object
        for key in ("acme/exports/report.zip", "acme/logo.png", "acme/portal/F-1.pdf"):
            s3.delete_object(Bucket=bucket, Key=key)
    files = sorted(p.suffix for p in (state_dir / bucket).iterdir())
    assert files == [".body", ".json", ".json"]  # F-1.pdf's body and record, and bucket.json


def test_local_scheduler_fires_a_rate_function_at_once_and_survives_failures() -> None:
    # Given an app with a rate(1 minute) function and one that always fails
    app = Chalice(app_name="scheduled")
    fired = threading.Event()
    events: list[dict[str, Any]] = []

    @app.schedule("rate(1 minute)")
    def sweep_tracking_alerts(event: Any) -> None:
        events.append(event.to_dict())
        fired.set()

    @app.schedule(Rate(1, unit=Rate.HOURS))
    def broken_sweep(event: Any) -> None:
        raise RuntimeError("the sweep failed")

    # When the local scheduler starts
    with LocalScheduler(app) as scheduler:
        # Then the rate function runs at once with a CloudWatch scheduled event
        assert fired.wait(10)
        assert events[0]["detail-type"] == "Scheduled Event"
        assert events[0]["source"] == "aws.events"
        assert scheduler.jobs["sweep_tracking_alerts"].interval_seconds == 60
        # And the failing function's exception is recorded while its schedule keeps running
        assert scheduler.jobs["broken_sweep"].interval_seconds == 3600
        broken = scheduler.jobs["broken_sweep"]
        for _ in range(100):
            if broken.failures:
                break
            time.sleep(0.05)
        assert broken.failures == 1 and isinstance(broken.last_error, RuntimeError)
        assert scheduler.running
    assert not scheduler.running


def test_local_identity_tokens_verify_against_its_jwks(tmp_path: Path) -> None:
    # Given a local identity whose key is kept in a file
    identity = LocalIdentity(tmp_path / "jwt-key.pem")
    # When it mints a staff token and is loaded again from the same file
    token = identity.mint("demo", user_id="ana@demo", level=2, branch="Norte", department="Ventas")
    reloaded = LocalIdentity(tmp_path / "jwt-key.pem")
    # Then the token verifies against the reloaded JWKS, with the Cognito-style claims
    jwks = jwt.PyJWKSet.from_json(reloaded.jwks_json())
    key = jwks[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="pregon", issuer="pregon-local")
    assert claims["sub"] == "ana@demo"
    assert claims["custom:company_id"] == "demo"
    assert claims["custom:level"] == 2
    assert (claims["custom:branch"], claims["custom:department"]) == ("Norte", "Ventas")
    assert claims["exp"] - claims["iat"] == 12 * 3600


def test_the_mail_listing_piped_to_a_reader_that_stops_early_ends_quietly(tmp_path: Path) -> None:
    # Given a catcher folder holding 600 caught e-mails (a listing far larger than a pipe's buffer)
    mail = tmp_path / "local" / "mail"
    mail.mkdir(parents=True)
    for n in range(600):
        (mail / f"20261203T101500-{n:06d}-caught.eml").write_bytes(
            f"From: a@example.com\r\nTo: b{n}@example.com\r\nSubject: Aviso {n}\r\n\r\nHola\r\n".encode()
        )
    # When a reader's script takes its first line, as the guides do (`| grep -m1`), under pipefail
    script = f"set -o pipefail; {sys.executable} -m infrastructure.local.stack mail | grep -m1 Aviso"
    done = subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, "PREGON_LOCAL_DIR": str(tmp_path / "local")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it ends with success and no traceback, the first e-mail printed
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Aviso 0" in done.stdout


def test_the_token_command_of_a_lower_level_speaks_for_a_user_of_that_level(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the demo's staff directory, which knows admin@demo as level 1 and keeps a known user's level
    # When the banner's "New token" command asks for a level-3 token, and another for the default level
    assert stack_main(["--local-dir", str(tmp_path), "token", "--level", "3"]) == 0
    level_3 = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert stack_main(["--local-dir", str(tmp_path), "token"]) == 0
    level_1 = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    # Then the level-3 token is a user the directory does not know as its administrator, so the
    # service adds it at level 3 (the admin's own token with "level 3" would still act as level 1)
    assert (level_3["sub"], level_3["custom:level"]) == ("level3@demo", 3)
    # And the default is still the administrator of the banner
    assert (level_1["sub"], level_1["custom:level"]) == ("admin@demo", 1)


def test_the_env_command_points_at_the_ports_run_was_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stack run on other ports than the defaults (8086 taken, say), SMS Masivos' stand-in
    # on 9186 and the console's sign-in on 9184
    at = ["--port", "9000", "--dynamodb-port", "9001", "--moto-port", "9002", "--sms-masivos-port", "9186"]
    at += ["--identity-port", "9184"]
    # When a script asks for the service's environment with the same ports
    assert stack_main(["--local-dir", str(tmp_path), "env", *at]) == 0
    exported = capsys.readouterr().out.splitlines()
    # Then every endpoint it exports is on those ports, SMS Masivos' stand-in too
    assert "export SMS_MASIVOS_URL='http://127.0.0.1:9186/enviar_sms.asp'" in exported
    assert "export PREGON_PUBLIC_BASE_URL='http://127.0.0.1:9000'" in exported
    assert "export AWS_ENDPOINT_URL_DYNAMODB='http://127.0.0.1:9001'" in exported
    assert "export AWS_ENDPOINT_URL_SES='http://127.0.0.1:9002'" in exported
    assert "export PREGON_CONSOLE_IDENTITY_URL='http://127.0.0.1:9184'" in exported
    # And without the flag, the stand-in's default port
    assert stack_main(["--local-dir", str(tmp_path), "env"]) == 0
    assert "export SMS_MASIVOS_URL='http://127.0.0.1:8086/enviar_sms.asp'" in capsys.readouterr().out


def test_the_commands_that_talk_to_the_stack_take_its_ports_from_the_ports_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from infrastructure.local.stack import LocalPaths, Ports

    # Given a stack running from this folder on other ports, which it wrote to its ports file
    written = Ports(9100, 9101, 9102, 9103, 9104, 9105, 9184, 9186)
    paths = LocalPaths(tmp_path)
    paths.ports.write_text(json.dumps({**vars(written), "moto_endpoint": "http://127.0.0.1:9102"}))
    # When a script asks for the service's environment with no flags
    assert stack_main(["--local-dir", str(tmp_path), "env"]) == 0
    exported = set(capsys.readouterr().out.splitlines())
    # Then every endpoint it exports is on the running stack's ports
    endpoints = {
        "PREGON_PUBLIC_BASE_URL": "http://127.0.0.1:9100",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9101",
        "AWS_ENDPOINT_URL_SES": "http://127.0.0.1:9102",
        "PREGON_CONSOLE_IDENTITY_URL": "http://127.0.0.1:9184",
        "SMS_MASIVOS_URL": "http://127.0.0.1:9186/enviar_sms.asp",
    }
    assert {f"export {name}='{url}'" for name, url in endpoints.items()} <= exported
    # And a flag still wins over the file, for its port only
    assert stack_main(["--local-dir", str(tmp_path), "env", "--dynamodb-port", "9201"]) == 0
    exported = set(capsys.readouterr().out.splitlines())
    assert "export AWS_ENDPOINT_URL_DYNAMODB='http://127.0.0.1:9201'" in exported
    assert "export AWS_ENDPOINT_URL_SES='http://127.0.0.1:9102'" in exported
    # And sendjob's API is the running stack's unless --api names one
    from infrastructure.local.sendjob import _api

    monkeypatch.setenv("PREGON_LOCAL_DIR", str(tmp_path))
    assert _api(None) == "http://127.0.0.1:9100"
    assert _api("http://127.0.0.1:9300/") == "http://127.0.0.1:9300"
    # And once the stack stopped (it removes its file), or with a file it could not have written,
    # the defaults
    from infrastructure.local.stack import running_ports

    for leftover in (None, "{", "[]", '{"api": "x"}'):
        if leftover is None:
            paths.ports.unlink()
        else:
            paths.ports.write_text(leftover)
        assert running_ports(paths) == Ports()


def test_a_local_rotation_signs_with_a_new_key_and_keeps_the_old_ones_for_verifying(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def exported(name: str) -> str:
        assert stack_main(["--local-dir", str(tmp_path), "env"]) == 0
        [line] = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(f"export {name}=")]
        return line.split("=", 1)[1].strip("'")

    # Given the local stack's key, with no rotation yet
    first = exported("PREGON_LINK_SIGNING_KEY")
    assert len(first) >= 32 and exported("PREGON_LINK_SIGNING_KEYS_PREVIOUS") == ""
    # When the operator rotates it twice
    assert stack_main(["--local-dir", str(tmp_path), "rotate-link-key"]) == 0
    assert first not in capsys.readouterr().out  # the command prints no key
    second = exported("PREGON_LINK_SIGNING_KEY")
    assert stack_main(["--local-dir", str(tmp_path), "rotate-link-key"]) == 0
    # Then the next start signs with a third key, and both it replaced still verify, newest first
    third = exported("PREGON_LINK_SIGNING_KEY")
    assert len({first, second, third}) == 3 and len(third) >= 32
    assert exported("PREGON_LINK_SIGNING_KEYS_PREVIOUS") == f"{second},{first}"
