"""moto in server mode, in this process, for the AWS services that have no local engine.

    with MotoServer() as moto_server:      # a free port on 127.0.0.1
        env["AWS_ENDPOINT_URL_KMS"] = moto_server.endpoint

moto keeps its state in memory. For the one piece of state that must outlive a restart, the KMS key
that encrypts sender passwords, :func:`ensure_kms_key` saves the key's id and material to a state
file on first creation and, on a later start, re-creates the same key (same id, same material, same
alias) in moto's in-process backend, so ciphertexts written before the restart still decrypt.
S3's objects are kept on disk by the server itself when it is given a folder
(``MotoServer(state_dir=...)``, :mod:`infrastructure.local.s3_state`).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3
import requests
from botocore.exceptions import ClientError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from infrastructure.local.paths import port_is_free
from infrastructure.local.s3_state import S3Files

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

log = logging.getLogger(__name__)

DEFAULT_ALIAS = "alias/pregon-secrets"
DEFAULT_REGION = "us-east-1"


class MotoServerError(RuntimeError):
    """moto could not start, or a KMS key could not be saved or restored."""


def _state_dump_past_multipart_parts() -> None:
    """moto's state dump (``/moto-api/data.json``, which ``stack sms --outbox`` and the soak bench
    read, from another process, for the SMS moto recorded; the tests read moto's records in their
    own process, ``moto_received`` in tests/steps/aws.py) answers 500 once S3 has held an object
    a multipart upload made (the access report's ZIP): the upload's parts are keys of no bucket,
    whose ``status`` raises ``MissingBucket``. Such a part reads as having no status; nothing else changes."""
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import FakeKey

    status: Any = FakeKey.status
    if getattr(status.fget, "past_parts", False):
        return

    def guarded(key: FakeKey) -> str | None:
        try:
            found: str | None = status.fget(key)
        except MissingBucket:
            return None
        return found

    guarded.past_parts = True  # type: ignore[attr-defined]
    setattr(FakeKey, "status", property(guarded))  # noqa: B010  # mypy: a property put back


def _moto_modules_listed_once() -> None:
    """moto (5.2.5) routes each request by ``DomainDispatcherApplication.get_backend_for_host``,
    which asks ``moto.backends.list_of_moto_modules()`` whether the host names a backend: a
    generator that lists moto's package folder and stats each of its ~250 entries, on every
    request (1.6 % of the test workers' CPU). The folder does not change while the process runs,
    so it is listed once; the dispatcher reads the function from the module, so replacing it
    there is enough."""
    import moto.backends

    listing: Any = moto.backends.list_of_moto_modules
    if getattr(listing, "listed_once", False):
        return
    modules = frozenset(listing())

    def listed_once() -> Iterable[str]:
        return modules

    listed_once.listed_once = True  # type: ignore[attr-defined]
    moto.backends.list_of_moto_modules = listed_once


class _RequestBody(io.RawIOBase):
    """The request's body as the application may read it: at most ``Content-Length`` bytes of the
    connection, so that werkzeug's drain after the response (which reads whatever the socket
    holds) stops at the body's end instead of eating the client's next request."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self.left = length

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._within(self._stream.read, size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        return self._within(self._stream.readline, size)

    def _within(self, reader: Callable[[int], bytes], size: int | None) -> bytes:
        """What ``reader`` gives of at most ``size`` bytes (all that is left when None or negative),
        never past the body's end."""
        if size is None or size < 0 or size > self.left:
            size = self.left
        data = reader(size) if size else b""
        self.left -= len(data)
        return data


class _KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, keeping the connection open between requests (HTTP/1.1).

    werkzeug (3.1) answers every request with ``Connection: close``, so boto3 opened a new TCP
    connection, and the server a new thread, for each call (``create_connection`` was 3.8 % of
    the test workers' CPU). It does so because ``http.server`` cannot tell where an unread body
    ends; here the body is bounded by its ``Content-Length`` and the rest of it is read before the
    next request. Connections still close, as werkzeug's own, when that bound is unknown (a
    chunked request body), for HEAD answers (moto may give a body), and after an application
    error (a half-written answer)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each answer's body waits ~40 ms for the ACK of its headers

    def run_wsgi(self) -> None:
        whole = self.rfile
        keep_alive = self.command != "HEAD" and "chunked" not in self.headers.get("Transfer-Encoding", "")
        if keep_alive:
            self.rfile = _RequestBody(whole, int(self.headers.get("Content-Length") or 0))  # type: ignore[assignment]
        self._keep_alive = keep_alive
        self.environ = {}
        try:
            super().run_wsgi()
            if self.environ.get(_FAILED):
                self.close_connection = True
        finally:
            self.rfile = whole

    def send_header(self, keyword: str, value: str) -> None:
        if keyword == "Connection" and value == "close" and getattr(self, "_keep_alive", False):
            return  # werkzeug's blanket close; the request line's own "Connection: close" still counts
        super().send_header(keyword, value)


_FAILED = "pregon.moto.failed"


def _noting_failures(app: Callable[..., Any]) -> Callable[..., Any]:
    """``app``, marking in the WSGI environ a request whose answer failed (werkzeug then writes an
    error after what was sent; the connection must not be reused)."""

    def noted(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        try:
            answer = app(environ, start_response)
            try:
                yield from answer
            finally:
                if hasattr(answer, "close"):
                    answer.close()
        except BaseException:
            environ[_FAILED] = True
            raise

    return noted


class MotoServer:
    """moto's server (what ``moto.server.ThreadedMotoServer`` starts) in a thread, on 127.0.0.1 (a
    free port unless one is given), keeping connections open between requests.

    With ``state_dir``, S3's objects are written through to that folder before each request is
    answered and put back from it when the server starts (:mod:`infrastructure.local.s3_state`);
    one such server at a time in a process (moto's backends are the process's)."""

    def __init__(
        self, port: int | None = None, host: str = "127.0.0.1", state_dir: Path | None = None
    ) -> None:
        self.host = host
        self.state_dir = state_dir
        self._s3_files: S3Files | None = None
        self._requested_port = port
        self._port: int | None = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise MotoServerError("MotoServer is not started")
        return self._port

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> MotoServer:
        if self._server is not None:
            return self
        port = self._requested_port if self._requested_port is not None else 0
        if port and not port_is_free(port, self.host):
            raise MotoServerError(f"port {port} on {self.host} is already in use")
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        _state_dump_past_multipart_parts()
        _moto_modules_listed_once()
        # As ThreadedMotoServer makes it, with a request handler that keeps connections open.
        dispatcher: Callable[..., Any] = DomainDispatcherApplication(create_backend_app)
        if self.state_dir is not None:
            self._s3_files = S3Files(self.state_dir)
            self._s3_files.start()  # the saved objects are back before the first request
            dispatcher = self._s3_files.writing_through(dispatcher)
        app = _noting_failures(dispatcher)
        try:
            server = make_server(
                self.host, port, app, threaded=True, request_handler=_KeepAliveRequestHandler
            )
        except BaseException:
            if self._s3_files is not None:
                self._s3_files.stop()
                self._s3_files = None
            raise
        self._thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        self._server = server
        self._port = int(server.server_address[1])
        log.info("moto server listening on %s", self.endpoint)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._s3_files is not None:
            self._s3_files.stop()
            self._s3_files = None
        self._port = self._requested_port

    def reset(self) -> None:
        """Forget every resource in every moto backend (moto's ``/moto-api/reset``)."""
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def kms_client(endpoint: str, region: str = DEFAULT_REGION) -> KMSClient:
    """A KMS client for a moto endpoint, with moto's dummy credentials."""
    return boto3.client(
        "kms",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",  # nosec B106 # moto accepts any key
    )


def _in_process_key(account_id: str, region: str, key_id: str) -> Any:
    from moto.kms.models import kms_backends

    key = kms_backends[account_id][region].keys.get(key_id)
    if key is None:
        raise MotoServerError(
            f"KMS key {key_id} is not in this process's moto backend; saving and restoring keys "
            "needs the moto server to run in this process (MotoServer)"
        )
    return key


def _save_key_state(state_file: Path, alias: str, metadata: dict[str, Any], region: str) -> None:
    account_id = str(metadata["AWSAccountId"])
    key = _in_process_key(account_id, region, str(metadata["KeyId"]))
    state = {
        "key_id": key.id,
        "alias": alias,
        "account_id": account_id,
        "region": region,
        "description": key.description,
        "key_material": base64.b64encode(key.key_material).decode("ascii"),
    }
    state_file.parent.mkdir(parents=True, exist_ok=True)
    partial = state_file.with_name(state_file.name + ".partial")
    partial.write_text(json.dumps(state, indent=2))
    os.chmod(partial, 0o600)
    partial.replace(state_file)
    log.info("saved KMS key %s (%s) to %s", key.id, alias, state_file)


def _restore_key(state: dict[str, Any], alias: str) -> str:
    from moto.kms.models import kms_backends

    key_id = str(state["key_id"])
    account_id = str(state["account_id"])
    region = str(state["region"])
    backend = kms_backends[account_id][region]
    if key_id not in backend.keys:
        key = backend.create_key(
            policy=None,
            key_usage="ENCRYPT_DECRYPT",
            key_spec="SYMMETRIC_DEFAULT",
            description=str(state.get("description", "")),
            tags=None,
        )
        del backend.keys[key.id]
        key.id = key_id
        key.arn = f"arn:aws:kms:{region}:{account_id}:key/{key_id}"
        key.key_material = base64.b64decode(state["key_material"])
        backend.keys[key_id] = key
    if backend.get_key_id_from_alias(alias) is None:
        backend.create_alias(key_id, alias)
    log.info("restored KMS key %s (%s) from saved state", key_id, alias)
    return key_id


def ensure_kms_key(
    endpoint: str,
    alias: str = DEFAULT_ALIAS,
    state_file: Path | None = None,
    region: str = DEFAULT_REGION,
) -> str:
    """Make sure a symmetric KMS key named ``alias`` exists on the moto at ``endpoint``; its id.

    With ``state_file``: the first creation saves the key (id and material) there; when the key is
    missing (moto restarted) and the file exists, the same key is re-created from it, so ciphertexts
    from before the restart still decrypt. Saving and restoring need the moto server to run in this
    process (:class:`MotoServer`).
    """
    client = kms_client(endpoint, region)
    try:
        metadata: dict[str, Any] = dict(client.describe_key(KeyId=alias)["KeyMetadata"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NotFoundException":
            raise
        metadata = {}

    if not metadata and state_file is not None and state_file.exists():
        state = json.loads(state_file.read_text())
        if state.get("region", region) != region:
            raise MotoServerError(f"{state_file} holds a key for region {state['region']}")
        _restore_key(state, alias)
        metadata = dict(client.describe_key(KeyId=alias)["KeyMetadata"])
        return str(metadata["KeyId"])

    if not metadata:
        created = client.create_key(
            Description="Pregón local: encrypts sender account passwords",
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
        )
        metadata = dict(created["KeyMetadata"])
        client.create_alias(AliasName=alias, TargetKeyId=str(metadata["KeyId"]))
        log.info("created KMS key %s (%s)", metadata["KeyId"], alias)

    if state_file is not None and not state_file.exists():
        _save_key_state(state_file, alias, metadata, region)
    return str(metadata["KeyId"])
