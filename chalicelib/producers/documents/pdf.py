"""PDF documents from tenant-written templates (D1): a Jinja template (in the sandbox) writes
typst markup, and typst (the ``typst`` package: the compiler in one wheel, no system library)
turns it into a PDF. Why typst: docs/decisions/0006-pdf-renderer.md.

What keeps a tenant's template harmless:

* **Values cannot become markup.** Every ``{{ ... }}`` output, whatever expression made it, is
  escaped for typst (:func:`typst_escape`): a client called ``#read("/etc/passwd")`` prints as
  those characters. Only the template's literal text is typst.
* **The literal text may not load anything**: no ``import`` / ``include`` (typst packages come
  from the network), and none of the functions that read files or run code
  (``read``, ``image``, ``json``, ``csv``, ``yaml``, ``toml``, ``xml``, ``cbor``, ``plugin``,
  ``eval``). Such a template is refused with a 422 naming ``source`` when it is saved and again
  when it renders (:func:`check_source`). The company logo is offered as ``company_logo()``.
* **Nothing to read anyway.** typst compiles with a root folder holding only the company's
  logo; it refuses any path outside its root, uses only its embedded fonts, and never sees the
  system's.
* **Bounded.** Jinja's limits (loops, output size, time) apply; typst stops infinite loops by
  itself, and a company's own template is laid out in a process of its own that is stopped once
  a document has used its time or its memory (``typst_process``); a document over
  :data:`MAX_PAGES` pages is refused.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.core.errors import ValidationFailed

MAX_PAGES = 50
MAX_SOURCE_BYTES = 64_000
LOGO_TYPES = {"image/png": "png", "image/jpeg": "jpg"}

_FORBIDDEN_FUNCTIONS = "read|eval|plugin|image|json|csv|yaml|toml|xml|cbor"
_CALLED = re.compile(rf"(?<![\w-])({_FORBIDDEN_FUNCTIONS})\s*[(\[.]")
_NAMED = re.compile(rf"[#=(,{{:.]\s*({_FORBIDDEN_FUNCTIONS})(?![\w-])")
_LOADING = re.compile(r"(?<![\w-])(import|include)(?![\w-])")
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
# Characters typst markup gives a meaning to; a backslash before any of them prints it as is.
_SPECIAL = re.compile(r"([\\#*_`$<>@\[\]=\-+/~'\"(){}:;])")


def typst_escape(text: str) -> str:
    """Text as typst markup that prints exactly it (a line break in a value is a space)."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def _literal_text(source: str) -> str:
    """The template's own text, without its Jinja tags (what reaches typst unescaped)."""
    from jinja2 import Environment

    try:
        tokens = Environment(autoescape=False).lex(source)  # noqa: S701 (only lexed, never rendered)
        return "\n".join(value for _, kind, value in tokens if kind == "data")
    except Exception:  # a syntax error: the sandbox names it when it renders
        return source


def check_source(source: str, *, field: str = "source") -> None:
    """Refuse (422 naming ``field``) a document template that tries to load a file, a package or
    code: what the company writes must only lay out the values it is given."""

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed([{"field": field, "message": message}])

    if len(source.encode()) > MAX_SOURCE_BYTES:
        raise refuse(f"must be at most {MAX_SOURCE_BYTES:,} bytes")
    if "\x00" in source:
        raise refuse("must not contain NUL characters")
    text = _literal_text(source)
    found = _LOADING.search(text)
    if found:
        raise refuse(
            f"uses {found.group(1)!r}: document templates may not import or include anything "
            "(packages come from the network, files from the disk); use company_logo() for the logo"
        )
    found = _CALLED.search(text) or _NAMED.search(text)
    if found:
        raise refuse(
            f"uses {found.group(1)!r}: document templates may not read files, images or data, nor "
            "run code; use company_logo() for the logo"
        )


# --- typst -----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _workspace() -> Path:
    return Path(tempfile.mkdtemp(prefix="pregon-documents-"))


def _empty_root() -> Path:
    empty = _workspace() / "empty"
    empty.mkdir(exist_ok=True)
    return empty


_compilers = threading.local()


def _compiler() -> Any:
    """This thread's typst compiler for Pregón's own templates, made once and reused (its caches
    make the next document cheaper); one per thread, so the workers of a process compile side
    by side."""
    compiler = getattr(_compilers, "compiler", None)
    if compiler is None:
        from chalicelib.producers.documents.typst_process import new_compiler

        compiler = _compilers.compiler = new_compiler(str(_empty_root()))
    return compiler


def _compile(document: bytes, root: Path, *, own: bool, field: str) -> bytes:
    """typst's PDF of ``document``. A company's own template is laid out in a typst process
    that is stopped once it has used its time or its memory (:mod:`typst_process`); Pregón's
    defaults, whose layout is ours and whose values the API bounds (500 lines, 2,000 movements),
    in this one."""
    from chalicelib.producers.documents.typst_process import (
        TYPST_MEGABYTES,
        TYPST_SECONDS,
        TypstFailed,
        TypstTooBig,
        TypstTooSlow,
        typst_process,
    )

    def cannot(message: str) -> ValidationFailed:
        return ValidationFailed([{"field": field, "message": f"typst cannot lay it out: {message}"}])

    if not own:
        import typst

        try:
            pdf = _compiler().compile(input=document, format="pdf", root=str(root), pdf_tags=False)
        except typst.TypstError as exc:
            raise cannot(exc.message) from exc
        assert isinstance(pdf, bytes)
        return pdf
    try:
        with typst_process(_empty_root()) as process:
            return process.compile(document, root)
    except TypstFailed as exc:
        raise cannot(exc.message) from exc
    except TypstTooSlow as exc:
        too_long = f"typst takes too long to lay it out (the limit is {TYPST_SECONDS:g} s)"
        raise ValidationFailed([{"field": field, "message": too_long}]) from exc
    except TypstTooBig as exc:
        too_big = f"typst needs too much memory to lay it out (the limit is {TYPST_MEGABYTES} MB)"
        raise ValidationFailed([{"field": field, "message": too_big}]) from exc


def _root_with(logo: tuple[bytes, str] | None) -> tuple[Path, str | None]:
    """A folder holding nothing but this logo (the root typst may read from), and its file name."""
    if logo is None:
        return _empty_root(), None
    data, content_type = logo
    digest = hashlib.sha256(data).hexdigest()[:24]
    folder = _workspace() / digest
    name = f"logo.{LOGO_TYPES.get(content_type, 'png')}"
    if not (folder / name).exists():
        folder.mkdir(exist_ok=True)
        # written whole, then renamed: a thread compiling meanwhile never reads half a logo
        part = folder / f".{name}.{threading.get_ident()}"
        part.write_bytes(data)
        part.replace(folder / name)
    return folder, name


def _preamble(logo_name: str | None) -> str:
    if logo_name is None:
        return "#let company_logo(height: 1.6cm) = none\n"
    return f'#let company_logo(height: 1.6cm) = image("/{logo_name}", height: height)\n'


def render_pdf(
    source: str,
    variables: dict[str, Any],
    *,
    logo: tuple[bytes, str] | None = None,
    field: str = "source",
    own: bool = True,
) -> bytes:
    """The PDF a document template makes with these values; ``ValidationFailed`` naming ``field``
    for a template that is unsafe, cannot render, takes too long to lay out, or makes more than
    :data:`MAX_PAGES` pages. ``own``: the company wrote it (else it is one of Pregón's defaults)."""
    from chalicelib.messaging.sandbox import render_escaped

    check_source(source, field=field)
    markup = render_escaped(source, variables, typst_escape, field=field)
    root, logo_name = _root_with(logo)
    document = (_preamble(logo_name) + markup).encode()
    pdf = _compile(document, root, own=own, field=field)
    if len(_PAGE.findall(pdf)) > MAX_PAGES:
        raise ValidationFailed([{"field": field, "message": f"makes more than {MAX_PAGES} pages"}])
    return pdf
