"""Documents as their recipients and staff see them: the PDF attached to an e-mail, read back."""

from __future__ import annotations

import io
import json
from typing import Any

from chalice.test import Client

from tests.steps.tenants import Tenant


def documents_key(tenant: Tenant) -> dict[str, str]:
    """The ERP's headers: an API key with ``documents:write`` and ``clients:write``."""
    from chalicelib.tenants.companies import issue_api_key

    key = issue_api_key(tenant.company_id, "erp", ["documents:write", "documents:read", "clients:write"])
    return {"Authorization": f"ApiKey {key}", "Content-Type": "application/json"}


def pdf_attachments(message: Any) -> list[tuple[str, bytes]]:
    """(file name, bytes) of every PDF attached to a caught e-mail."""
    return [
        (str(part.get_filename()), bytes(part.get_content()))
        for part in message.iter_attachments()
        if part.get_content_type() == "application/pdf"
    ]


def pdf_text(data: bytes) -> str:
    """The text a PDF reader shows (it must open: PDFium, the reader in Chrome, raises on a broken
    file)."""
    return "\n".join(pdf_page_texts(data))


def pdf_pages(data: bytes) -> int:
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        return len(document)
    finally:
        document.close()


def post_document(api: Client, headers: dict[str, str], path: str, payload: dict[str, Any]) -> Any:
    return api.http.post(path, headers=headers, body=json.dumps(payload))


def file_exists(key: str) -> bool:
    from botocore.exceptions import ClientError

    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings

    try:
        client("s3").head_object(Bucket=get_settings().files_bucket, Key=key)
    except ClientError:
        return False
    return True


def bulk_statements_run(api: Client, headers: dict[str, str], as_of: str) -> dict[str, Any]:
    """Staff send statements in bulk as of ``as_of``; its pages are expanded and the outbox
    delivered: the job as ``GET /documents/statements/bulk/{job_id}`` then shows it."""
    from tests.steps.outbox import deliver_outboxes
    from tests.steps.sends import expand_pages

    started = api.http.post("/documents/statements/bulk", headers=headers, body=json.dumps({"as_of": as_of}))
    assert started.status_code == 201, started.body
    expand_pages()
    deliver_outboxes()
    seen = api.http.get(f"/documents/statements/bulk/{json.loads(started.body)['job_id']}", headers=headers)
    assert seen.status_code == 200, seen.body
    return dict(json.loads(seen.body))


def pdf_page_texts(data: bytes) -> list[str]:
    """The text of each page of a PDF, as a reader shows it: PDFium's (Chrome's reader) rather
    than pypdf's, which took a minute to read a statement of 600 pages that PDFium reads in a
    second."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        texts = []
        for page in document:
            text = page.get_textpage()
            texts.append(text.get_text_bounded().replace("\r\n", "\n"))
            text.close()
            page.close()
        return texts
    finally:
        document.close()


def pdf_heights_of(data: bytes, prefix: str) -> list[list[float]]:
    """For each page of a PDF, how high above the page's foot (in points) each text starting with
    ``prefix`` is printed, top to bottom."""
    from pypdf import PdfReader

    pages = []
    for page in PdfReader(io.BytesIO(data)).pages:
        heights: list[float] = []

        def seen(text: str, cm: Any, tm: Any, font: Any, size: Any, heights: list[float] = heights) -> None:
            if text.strip().startswith(prefix):
                heights.append(float(cm[5]) + float(tm[5]))

        page.extract_text(visitor_text=seen)
        pages.append(heights)
    return pages
