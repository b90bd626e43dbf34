"""Files kept in S3: attachments of messages and register records, raw inbound mail.

Keys are ``<company>/<purpose>/<random>/<file name>``; downloads go through short-lived presigned
links, never through a public bucket.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from typing import BinaryIO
from urllib.parse import quote

from chalicelib.core.aws import client
from chalicelib.core.domain import AttachmentRef
from chalicelib.core.errors import ValidationFailed
from chalicelib.core.names import attachment_name
from chalicelib.core.settings import get_settings

DOWNLOAD_LINK_SECONDS = 300
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """An ASCII spelling of a file's base name (S3 keys, the plain ``filename=`` of a download):
    accents dropped (``año`` -> ``ano``), anything else unusual replaced by ``_``."""
    ascii_name = unicodedata.normalize("NFKD", attachment_name(name)).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("_", ascii_name).strip("._") or "file"
    return cleaned[-120:]


def content_disposition(name: str) -> str:
    """``attachment`` with the ASCII name for old clients and the real one as ``filename*``
    (RFC 6266 / RFC 5987), so ``estado_de_cuenta_año_2026.pdf`` saves under its own name."""
    encoded = quote(attachment_name(name), safe="")
    return f"attachment; filename=\"{safe_name(name)}\"; filename*=UTF-8''{encoded}"


def put_file(
    company_id: str,
    purpose: str,
    name: str,
    content_type: str,
    data: bytes | BinaryIO,
    *,
    tagged: bool = False,
) -> AttachmentRef:
    """Keep a file; only its base name is kept (an invoice PDF named ``../../etc/passwd.pdf`` is
    ``passwd.pdf``), and that is the name it is attached and downloaded under. ``tagged`` tags it
    with its purpose (``pregon-purpose=<purpose>``), which the bucket's lifecycle rules select.
    ``data``: the bytes, or a file opened for reading (a background export's, on disk), sent from
    where it stands."""
    name, key = new_file_key(company_id, purpose, name)
    size = len(data) if isinstance(data, bytes) else os.fstat(data.fileno()).st_size
    extra = {"Tagging": f"pregon-purpose={purpose}"} if tagged else {}
    client("s3").put_object(
        Bucket=get_settings().files_bucket, Key=key, Body=data, ContentType=content_type, **extra
    )
    return AttachmentRef(name=name, content_type=content_type, size=size, key=key)


def new_file_key(company_id: str, purpose: str, name: str) -> tuple[str, str]:
    """A new file's base name and its key: ``<company>/<purpose>/<random>/<safe name>``."""
    name = attachment_name(name)
    return name, f"{company_id}/{purpose}/{secrets.token_hex(8)}/{safe_name(name)}"


def delete_file(key: str) -> None:
    client("s3").delete_object(Bucket=get_settings().files_bucket, Key=key)


def delete_files(keys: list[str]) -> int:
    """Delete kept files (S3's ``DeleteObjects``, 1,000 a request); returns how many went (a key
    already gone counts as gone)."""
    deleted = 0
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        answer = client("s3").delete_objects(
            Bucket=get_settings().files_bucket,
            Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True},
        )
        deleted += len(chunk) - len(answer.get("Errors", []))
    return deleted


def discard_files(company_id: str, keys: list[str], what: str, why: str) -> int:
    """Delete files an attempt stored that no record names (its record's write failed, or another
    delivery of the same request wrote its record first); returns how many went. ``what`` names
    them in the log line ("attachments of received mail"), which gives ``deleted``,
    ``not_deleted`` (S3 refused those: they stay until someone deletes them) and ``why``.

    The rule everywhere Pregón stores a file before the record that names it: a file no record
    names is someone's data kept for nothing. Only a caller that knows no written record names
    these keys calls this; when it cannot tell, it keeps them (docs/documents.md)."""
    keys = [key for key in keys if key]
    if not keys:
        return 0
    from chalicelib.core.observability import logger

    try:
        deleted = delete_files(keys)
    except Exception:
        logger().exception(
            f"{what} that no record names could not be deleted",
            extra={"company_id": company_id, "files": len(keys), "why": why},
        )
        return 0
    logger().warning(
        f"{what} that no record names deleted",
        extra={"company_id": company_id, "deleted": deleted, "not_deleted": len(keys) - deleted, "why": why},
    )
    return deleted


def discard_unless_named(
    company_id: str, keys: list[str], what: str, why: str, named: Callable[[], bool]
) -> int:
    """After a failed write of the record that was to name these files: delete them unless
    ``named()`` says the record was written naming them after all (a write that failed may have
    happened). When ``named`` itself fails, they are kept: a file a record names must never go."""
    from chalicelib.core.observability import logger

    try:
        kept = named()
    except Exception:
        logger().exception(f"could not tell whether a record names {what}: they are kept")
        return 0
    return 0 if kept else discard_files(company_id, keys, what, why)


def read_file(key: str) -> bytes:
    response = client("s3").get_object(Bucket=get_settings().files_bucket, Key=key)
    return bytes(response["Body"].read())


def read_object(bucket: str, key: str) -> bytes:
    """An object of another bucket (SES writes inbound mail to its own)."""
    response = client("s3").get_object(Bucket=bucket, Key=key)
    return bytes(response["Body"].read())


def tag_object(bucket: str, key: str, purpose: str) -> bool:
    """Tag an object of another bucket with its purpose (``pregon-purpose=<purpose>``, replacing
    its tags), which that bucket's lifecycle rules select: the inbound bucket's expires raw mail
    that no record names (decision 0037). False when there is no such object (it expired)."""
    try:
        client("s3").put_object_tagging(
            Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": "pregon-purpose", "Value": purpose}]}
        )
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return False
        raise
    return True


# Types a browser runs script in (or renders as a page), whoever declared them: a received
# attachment's type is whatever its sender wrote.
_ACTIVE_TYPE = re.compile(
    r"html|xml|svg|script|^multipart/|^message/(?!rfc822$)|^text/(?!plain$|csv$|calendar$)"
)


def download_type(content_type: str) -> str:
    """The Content-Type a download answers with: the file's own, unless a browser could run
    script in it or it is no ``type/subtype`` (then ``application/octet-stream``)."""
    kind = (content_type or "").strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*", kind):
        return "application/octet-stream"
    return "application/octet-stream" if _ACTIVE_TYPE.search(kind) else kind


def download_url(ref: AttachmentRef, seconds: int = DOWNLOAD_LINK_SECONDS) -> str:
    """A short-lived link to a kept file: always an attachment (``Content-Disposition``), and
    of a type no browser runs script in (:func:`download_type`), whatever the file's sender declared."""
    return str(
        client("s3").generate_presigned_url(
            "get_object",
            Params={
                "Bucket": get_settings().files_bucket,
                "Key": ref.key,
                "ResponseContentDisposition": content_disposition(ref.name),
                "ResponseContentType": download_type(ref.content_type),
            },
            ExpiresIn=seconds,
        )
    )


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def image_type(data: bytes) -> str | None:
    """``image/png`` or ``image/jpeg`` when the bytes say so (their magic number, whatever the
    file is called), else None: SVG, HTML or anything else that could carry script is no image here."""
    if data.startswith(PNG_MAGIC):
        return "image/png"
    if data.startswith(JPEG_MAGIC):
        return "image/jpeg"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) in pixels of a PNG (its IHDR) or a JPEG (its first SOF marker); None when
    the bytes do not say."""
    import struct

    if data.startswith(PNG_MAGIC) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return (width, height) if width and height else None
    if not data.startswith(JPEG_MAGIC):
        return None
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length: SOI, TEM, RSTn
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return (width, height) if width and height else None
        at += 2 + length
    return None


def image_url(key: str, seconds: int) -> str:
    """A short-lived link to a kept image, shown inline (a logo, for whoever cannot take the image
    from the app itself)."""
    return str(
        client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": get_settings().files_bucket, "Key": key}, ExpiresIn=seconds
        )
    )


def upload_too_large(field: str, message: str) -> ValidationFailed:
    """The 422 of a file over its size limit, naming ``field``: the same whether the decoded bytes,
    the base64 text or the request's body told it (an upload route's body cap)."""
    return ValidationFailed([{"field": field, "message": message}])


def decode_upload(content_base64: str, *, field: str, max_bytes: int, too_large: str) -> bytes:
    """The bytes of a file sent as base64 (line breaks and spaces allowed, as mail programs wrap
    it); a 422 naming ``field`` when it is not base64, or ``too_large`` when it decodes to more
    than ``max_bytes`` (told by its length before anything is decoded: base64 of ``max_bytes``
    bytes is at most 4 characters for every 3)."""
    import base64
    import binascii

    compact = "".join(content_base64.split())
    if len(compact) > 4 * -(-max_bytes // 3):
        raise upload_too_large(field, too_large)
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed([{"field": field, "message": "is not valid base64"}]) from exc
    if len(data) > max_bytes:
        raise upload_too_large(field, too_large)
    return data
