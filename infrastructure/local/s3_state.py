"""moto's S3 kept on disk, so the local stack's stored files outlive a restart (a kill -9 too).

moto keeps S3 in memory. Given a folder (``MotoServer(state_dir=...)``; the local stack's is
``.local/s3``), every object a request writes (a PUT, a copy, a multipart upload's completion),
tags or deletes is written through to the folder before the request is answered, and the next
server over the folder puts every saved object back into moto's in-process backend before it
listens. The folder holds a folder per bucket::

    <bucket>/bucket.json                  the bucket: name, account, partition, region
    <bucket>/<sha256 of key>.json         an object: its key, body file, ETag, metadata (its
                                          Content-Type among them), tags, last modified, class
    <bucket>/<sha256 of key>.<sha256 of body, 16>.body   its bytes

Each file is written whole under a temporary name and renamed into place, the body before the
JSON that names it, and an object's older body is removed only after: a kill at any moment leaves
each object as it was before the request or after it, never a body with another version's tags.
Restoring keeps the saved ETag (a multipart upload's ``"…-2"``; the access report writes its list
of parts with ``If-Match`` its ETag, which must still match after a restart) and removes what a
kill left half-done (temporary files, bodies no JSON names).

Not kept: object versions (the stack's buckets are not versioned; the latest version is saved),
uploads in progress (a multipart upload not completed before the restart is gone, as its parts),
ACLs, object locks and bucket settings (lifecycle rules: moto does not apply them anyway).
The hooks cost nothing to a server without a folder (the tests' MotoServer): they are installed
when the first server with one starts, and only note a change while one runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BUCKET_FILE = "bucket.json"
_PARTIAL = ".partial-"

# The folder of the running server that writes S3 through (None: none runs), and what each
# request thread changed in S3 since its request began: (backend, bucket, key or None for the bucket).
_writing: S3Files | None = None
_changed = threading.local()


def _changes() -> set[tuple[Any, str, str | None]]:
    changes: set[tuple[Any, str, str | None]] | None = getattr(_changed, "changes", None)
    if changes is None:
        changes = _changed.changes = set()
    return changes


def _noting(method: Callable[..., Any], names: Callable[..., tuple[str, str | None]]) -> Callable[..., Any]:
    """``method`` of moto's S3 backend, noting the bucket and key it changed (``names`` of its
    arguments) while a server writes S3 through."""

    @functools.wraps(method)
    def noted(backend: Any, *args: Any, **kwargs: Any) -> Any:
        answer = method(backend, *args, **kwargs)
        if _writing is not None:
            _changes().add((backend, *names(*args, **kwargs)))
        return answer

    noted.notes_changes = True  # type: ignore[attr-defined]
    return noted


def _by_key(bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> tuple[str, str | None]:
    return bucket_name, key_name


def _by_bucket(bucket_name: str, *args: Any, **kwargs: Any) -> tuple[str, str | None]:
    return bucket_name, None


def _of_key(key: Any, *args: Any, **kwargs: Any) -> tuple[str, str | None]:
    return str(key.bucket_name), str(key.name)


def _install_hooks() -> None:
    """Have moto's S3 backend note what each request changes: every write of an object goes
    through ``put_object`` (a PUT, a copy, a multipart completion), its tags through
    ``put_object_tagging`` / ``delete_object_tagging``, every delete (one or many) through
    ``delete_object``; a copy's and a completion's metadata are set after ``put_object``, inside
    the same request, so what is saved is read when the request ends."""
    from moto.s3.models import S3Backend

    if getattr(S3Backend.put_object, "notes_changes", False):
        return
    for name, names in (
        ("put_object", _by_key),
        ("delete_object", _by_key),
        ("delete_object_tagging", _by_key),
        ("put_object_tagging", _of_key),
        ("create_bucket", _by_bucket),
        ("delete_bucket", _by_bucket),
    ):
        setattr(S3Backend, name, _noting(getattr(S3Backend, name), names))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    """``path`` holds ``data`` whole, or what it held before: written under a temporary name in its
    folder, flushed to disk, renamed into place."""
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=path.name + _PARTIAL)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


class S3Files:
    """A folder holding moto's S3 objects, a folder per bucket (see the module's docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()  # one request's objects saved at a time: bodies are shared names

    def _folder(self, bucket: str) -> Path | None:
        if not bucket or bucket in (".", "..") or "/" in bucket or "\\" in bucket:
            log.warning("S3 bucket %r is not kept on disk: its name is no folder name", bucket)
            return None
        return self.root / bucket

    def start(self) -> None:
        """Put the saved objects back into moto's backend, then write every later change through."""
        global _writing
        if _writing is not None and _writing is not self:
            raise RuntimeError(f"moto's S3 is already written through to {_writing.root}")
        _install_hooks()
        self.root.mkdir(parents=True, exist_ok=True)
        self.restore()
        _writing = self

    def stop(self) -> None:
        global _writing
        if _writing is self:
            _writing = None

    def writing_through(self, app: Callable[..., Any]) -> Callable[..., Any]:
        """The WSGI ``app``, saving what each request changed in S3 before its answer is sent
        (moto's answer is made in full before the call returns; werkzeug writes nothing until the
        iterable is read)."""

        def saving(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            _changes().clear()
            answer: Iterable[bytes] = app(environ, start_response)
            self.save(_changes())
            return answer

        return saving

    def save(self, changes: set[tuple[Any, str, str | None]]) -> None:
        """Save (or remove the copy of) each changed bucket and object as moto now holds it."""
        if not changes:
            return
        with self._lock:
            for backend, bucket, key in sorted(changes, key=lambda c: (c[1], c[2] or "")):
                if key is None:
                    self._save_bucket(backend, bucket)
                else:
                    self._save_object(backend, bucket, key)
        changes.clear()

    def _save_bucket(self, backend: Any, name: str) -> None:
        folder = self._folder(name)
        if folder is None:
            return
        bucket = backend.buckets.get(name)
        if bucket is None:  # deleted (S3 deletes only an empty bucket)
            for leftover in folder.glob("*") if folder.exists() else ():
                leftover.unlink()
            if folder.exists():
                folder.rmdir()
            return
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "name": name,
            "account_id": backend.account_id,
            "partition": backend.region_name,
            "region": bucket.region_name,
        }
        _write_atomically(folder / BUCKET_FILE, json.dumps(record, indent=2).encode())

    def _save_object(self, backend: Any, bucket_name: str, key_name: str) -> None:
        from moto.s3.models import FakeKey

        folder = self._folder(bucket_name)
        if folder is None:
            return
        stem = _sha256(key_name.encode())
        bucket = backend.buckets.get(bucket_name)
        key = bucket.keys.get(key_name) if bucket is not None else None
        if not isinstance(key, FakeKey):  # deleted (or a delete marker)
            (folder / f"{stem}.json").unlink(missing_ok=True)
            for body in folder.glob(f"{stem}.*.body"):
                body.unlink()
            return
        if not (folder / BUCKET_FILE).exists():
            self._save_bucket(backend, bucket_name)
        value = bytes(key.value)
        body_name = f"{stem}.{_sha256(value)[:16]}.body"
        if not (folder / body_name).exists():
            _write_atomically(folder / body_name, value)
        record = {
            "key": key_name,
            "body": body_name,
            "etag": key.etag,
            "metadata": dict(key.metadata),
            "tags": backend.tagger.get_tag_dict_for_resource(key.arn),
            "last_modified": key.last_modified.isoformat(),
            "storage_class": key.storage_class,
        }
        _write_atomically(folder / f"{stem}.json", json.dumps(record, indent=2).encode())
        for older in folder.glob(f"{stem}.*.body"):
            if older.name != body_name:
                older.unlink()

    def restore(self) -> int:
        """Put every saved bucket and object back into moto's in-process backend (buckets missing
        there are created; objects replace what moto holds under their key); the objects restored."""
        from moto.s3.models import s3_backends

        restored = 0
        for bucket_file in sorted(self.root.glob(f"*/{BUCKET_FILE}")):
            folder = bucket_file.parent
            for partial in folder.glob(f"*{_PARTIAL}*"):
                partial.unlink()
            bucket = json.loads(bucket_file.read_text())
            backend = s3_backends[bucket["account_id"]][bucket["partition"]]
            if bucket["name"] not in backend.buckets:
                backend.create_bucket(bucket["name"], bucket["region"])
            named = set()
            for record_file in sorted(folder.glob("*.json")):
                if record_file.name == BUCKET_FILE:
                    continue
                record = json.loads(record_file.read_text())
                named.add(record["body"])
                self._restore_object(backend, bucket["name"], record, (folder / record["body"]).read_bytes())
                restored += 1
            for body in folder.glob("*.body"):
                if body.name not in named:  # a kill between a body and the JSON naming it
                    body.unlink()
        if restored:
            log.info("restored %d S3 objects from %s", restored, self.root)
        return restored

    @staticmethod
    def _restore_object(backend: Any, bucket: str, record: dict[str, Any], value: bytes) -> None:
        key = backend.put_object(
            bucket,
            record["key"],
            value,
            storage=record.get("storage_class"),
            etag=str(record["etag"]).strip('"'),
            disable_notification=True,
        )
        key.set_metadata(record["metadata"])
        key.last_modified = datetime.fromisoformat(record["last_modified"])
        backend.tagger.delete_all_tags_for_resource(key.arn)
        if record["tags"]:
            backend.tagger.tag_resource(key.arn, backend.tagger.convert_dict_to_tags_input(record["tags"]))
