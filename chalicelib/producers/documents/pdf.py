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

Pregón's own templates print whatever the API accepts (500 lines, 2,000 movements, 200-character
texts): their markup gets :data:`DEFAULT_OUTPUT_CHARS`, their pages are not capped, and a
statement of more than :data:`PART_ROWS` movements is laid out in parts, each in a typst process
of its own, whose pages are joined into one PDF (:func:`render_parts`): laid out whole, 2,000
movements at their longest would take more memory than the Lambda has (docs/documents.md, "How
long a document may be").
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.core.errors import ValidationFailed

MAX_PAGES = 50  # a company's own template; Pregón's print what the API's bounds make
# Pregón's own templates print what the API bounds: at most PART_ROWS rows (an order's 500 lines;
# a longer statement is laid out PART_ROWS movements at a time), two texts of at most 200
# characters in each, which escaped for typst are at most 400 each (about 900 characters of
# markup a row, 452,000 for 500 rows at their longest). Their markup gets this budget instead of
# the tenant sandbox's MAX_OUTPUT_CHARS (200,000), which a company's own template keeps.
PART_ROWS = 500
DEFAULT_OUTPUT_CHARS = 1_000_000
# The pages of a statement joined from parts: as templates/<es|en>/documents/statement.typ sets
# them for a statement laid out whole (A4, its margins, "Página N de M" at the foot).
STATEMENT_PAGES = (
    '#set page(paper: "a4", margin: (x: 1.8cm, y: 1.6cm), footer: context align(center, '
    'text(font: "Libertinus Serif", size: 8pt)'
    "[PAGE #counter(page).display() OF #counter(page).final().first()]))"
)
# A document whose markup is longer than this (about 60 movements or lines, two pages; the sample
# statement is 1,500 bytes) is laid out in a typst process of its own (see _compile): typst keeps
# what it laid out for its next ten documents (ten statements of 60 movements: 47 MB; eight parts
# of 250 movements at their longest: 357 MB).
ALONE_BYTES = 8_000
MAX_SOURCE_BYTES = 64_000
LOGO_TYPES = {"image/png": "png", "image/jpeg": "jpg"}

# ``dictionary`` turns a module into its functions by name (``dictionary(std).at("re" + "ad")``).
_FORBIDDEN_FUNCTIONS = "read|eval|plugin|image|json|csv|yaml|toml|xml|cbor|dictionary"
_CALLED = re.compile(rf"(?<![\w-])({_FORBIDDEN_FUNCTIONS})\s*[(\[.]")
# A name where code takes a value: after ``#``, ``=``, ``=>``, an opening bracket, a separator, a
# field's dot, ``return``, or a comment's end (``(/**/read)``).
_NAMED = re.compile(rf"(?:[#=(,{{:.>;/]|\breturn\b)\s*({_FORBIDDEN_FUNCTIONS})(?![\w-])")
_LINE_COMMENT = re.compile(r"//[^\n]*")
_LOADING = re.compile(r"(?<![\w-])(import|include)(?![\w-])")
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
# Characters typst markup gives a meaning to; a backslash before any of them prints it as is.
_SPECIAL = re.compile(r"([\\#*_`$<>@\[\]=\-+/~'\"(){}:;])")


def typst_escape(text: str) -> str:
    """Text as typst markup that prints exactly it (a line break in a value is a space)."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def _tokens(source: str) -> list[tuple[str, str]]:
    """The template's Jinja tokens (kind, value); none for a syntax error (the sandbox names it
    when it renders)."""
    from jinja2 import Environment

    try:
        lexed = Environment(autoescape=False).lex(source)  # noqa: S701  # nosec B701 # only lexed, never rendered
        return [(kind, value) for _, kind, value in lexed if kind != "whitespace"]
    except Exception:
        return []


def _literal_text(source: str, tokens: list[tuple[str, str]]) -> str:
    """The template's own text, without its Jinja tags (what reaches typst unescaped): its pieces
    apart, and run together as an empty value or a comment between them leaves them
    (``#re{{ "" }}ad``)."""
    if not tokens:
        return source
    pieces = [value for kind, value in tokens if kind == "data"]
    return "\n".join(pieces) + "\n" + "".join(pieces)


def _filter_block(tokens: list[tuple[str, str]]) -> bool:
    """Whether a ``{% filter %}`` block is used: its output is literal text changed by Jinja
    (``replace("X", "")`` on ``#reXad``), markup no check of the literal text can read."""
    return any(
        kind == "block_begin" and tokens[n + 1 : n + 2] == [("name", "filter")]
        for n, (kind, _) in enumerate(tokens)
    )


def check_source(source: str, *, field: str = "source") -> None:
    """Refuse (422 naming ``field``) a document template that tries to load a file, a package or
    code: what the company writes must only lay out the values it is given."""

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed([{"field": field, "message": message}])

    if len(source.encode()) > MAX_SOURCE_BYTES:
        raise refuse(f"must be at most {MAX_SOURCE_BYTES:,} bytes")
    if "\x00" in source:
        raise refuse("must not contain NUL characters")
    tokens = _tokens(source)
    if _filter_block(tokens):
        raise refuse(
            "uses a filter block: in a document template it would turn the template's own text into "
            "markup no check can read; filter the values instead (value|upper)"
        )
    text = _literal_text(source, tokens)
    found = _LOADING.search(text)
    if found:
        raise refuse(
            f"uses {found.group(1)!r}: document templates may not import or include anything "
            "(packages come from the network, files from the disk); use company_logo() for the logo"
        )
    # and with typst's line comments taken out (``(// a comment⏎read)``); both, as a ``//`` in a
    # string (a URL) is no comment, and taking out the rest of its line could hide a name
    uncommented = _LINE_COMMENT.sub("", text)
    found = next(filter(None, (p.search(t) for t in (text, uncommented) for p in (_CALLED, _NAMED))), None)
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
    """typst's PDF of ``document``. typst keeps what it laid out for its next ten documents (its
    caches), so a long document is laid out in a typst process started for it alone, stopped
    once its PDF is back: ten long ones in a row in one process would hold them all. Of the
    short ones, a company's own template is laid out in a typst process that is stopped once it
    has used its time or its memory (:mod:`typst_process`); Pregón's defaults, whose layout is
    ours and whose values the API bounds, in this one."""
    from chalicelib.producers.documents.typst_process import typst_process

    if len(document) > ALONE_BYTES:
        return _compile_alone(document, root, field)
    if not own:
        import typst

        try:
            pdf = _compiler().compile(input=document, format="pdf", root=str(root), pdf_tags=False)
        except typst.TypstError as exc:
            raise _cannot(field, exc.message) from exc
        assert isinstance(pdf, bytes)
        return pdf
    with _typst_errors(field), typst_process(_empty_root()) as process:
        return process.compile(document, root)


def _compile_alone(document: bytes, root: Path, field: str) -> bytes:
    """typst's PDF of ``document`` from a typst process started for it and stopped after."""
    from chalicelib.producers.documents.typst_process import TypstProcess

    with _typst_errors(field):
        process = TypstProcess(_empty_root())
        try:
            return process.compile(document, root)
        finally:
            process.stop()


def _cannot(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "message": f"typst cannot lay it out: {message}"}])


@contextmanager
def _typst_errors(field: str) -> Iterator[None]:
    """A typst process's failures as a 422 naming ``field``."""
    from chalicelib.producers.documents.typst_process import (
        TYPST_MEGABYTES,
        TYPST_SECONDS,
        TypstFailed,
        TypstTooBig,
        TypstTooSlow,
    )

    try:
        yield
    except TypstFailed as exc:
        raise _cannot(field, exc.message) from exc
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
    for a template that is unsafe, cannot render, takes too long to lay out, or (a company's own)
    makes more than :data:`MAX_PAGES` pages. ``own``: the company wrote it (else it is one of
    Pregón's defaults, given :data:`DEFAULT_OUTPUT_CHARS` and as many pages as that prints)."""
    from chalicelib.messaging.sandbox import render_escaped

    check_source(source, field=field)
    root, logo_name = _root_with(logo)
    budget = None if own else DEFAULT_OUTPUT_CHARS
    markup = render_escaped(source, variables, typst_escape, field=field, output_chars=budget)
    pdf = _compile((_preamble(logo_name) + markup).encode(), root, own=own, field=field)
    if own and len(_PAGE.findall(pdf)) > MAX_PAGES:
        raise ValidationFailed([{"field": field, "message": f"makes more than {MAX_PAGES} pages"}])
    return pdf


def render_parts(
    source: str,
    rows: int,
    part: Callable[[int, int, bool], dict[str, Any]],
    *,
    logo: tuple[bytes, str] | None = None,
    field: str = "source",
    page_words: tuple[str, str] | None = None,
) -> bytes:
    """One PDF of Pregón's own template laid out over ``rows`` rows (a statement's movements) a
    part at a time, each part at most :data:`PART_ROWS` rows in a typst process of its own (laid
    out whole, 2,000 movements at their longest take more memory than the Lambda has:
    :mod:`bench.typst_memory`). ``part(start, stop, last)`` gives the values of the rows
    ``start:stop``, the first part with the document's heading, the others continuing it.

    A part that is not the last keeps only its full pages: typst says which page each row
    begins on (the template marks them ``<row>``, rows never break across pages), the part's
    last page is left out, and the next part starts with the first row of that page. So every
    page but the document's last is as full as the layout makes a page, and the table goes on
    from page to page as one long table does (its header repeated at the top of each)."""
    from chalicelib.messaging.sandbox import render_escaped
    from chalicelib.producers.documents.typst_process import ROW_PAGES

    check_source(source, field=field)
    root, logo_name = _root_with(logo)

    def document(start: int, stop: int, last: bool) -> bytes:
        values = part(start, stop, last)
        markup = render_escaped(source, values, typst_escape, field=field, output_chars=DEFAULT_OUTPUT_CHARS)
        return (_preamble(logo_name) + markup + ("" if last else ROW_PAGES)).encode()

    kept: list[tuple[bytes, int]] = []
    start = 0
    while start + PART_ROWS < rows:
        stop = start + PART_ROWS
        pdf, pages = _compile_with_row_pages(document(start, stop, False), root, field)
        last_page = pages[-1]
        on_last_page = pages.index(last_page)
        if on_last_page == 0:  # every row on one page (rows taller than a page's share): all of it
            kept.append((pdf, last_page))
            start = stop
        else:
            kept.append((pdf, last_page - 1))
            start += on_last_page
    pdf = _compile(document(start, rows, True), root, own=False, field=field)
    if not kept:
        return pdf
    return _joined([*kept, (pdf, len(_PAGE.findall(pdf)))], field, page_words)


def _compile_with_row_pages(document: bytes, root: Path, field: str) -> tuple[bytes, list[int]]:
    """typst's PDF of ``document`` and the page each of its rows begins on, from a typst process
    started for it and stopped after."""
    from chalicelib.producers.documents.typst_process import TypstProcess

    with _typst_errors(field):
        process = TypstProcess(_empty_root())
        try:
            pdf, pages = process.compile_with_row_pages(document, root)
        finally:
            process.stop()
    if not pages:
        raise _cannot(field, "the template marks no rows")
    return pdf, pages


def _joined(pdfs: Sequence[tuple[bytes, int]], field: str, page_words: tuple[str, str] | None) -> bytes:
    """The first pages of these PDFs (each with how many), in turn, as one PDF."""
    folder = Path(tempfile.mkdtemp(prefix="parts-", dir=_workspace()))
    try:
        document = join_document(pdfs, folder, page_words)
        # laid out alone whatever its length: typst would keep the PDFs it read
        return _compile_alone(document, folder, field)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def join_document(
    pdfs: Sequence[tuple[bytes, int]], folder: Path, page_words: tuple[str, str] | None = None
) -> bytes:
    """A typst document that places the first pages of these PDFs (each with how many), whole,
    each on a page of its own size; the PDFs are written to ``folder`` (empty: its root). With
    ``page_words`` (Pregón's statement: ``("Página", "de")``) the pages are A4 and numbered
    "Página N de M" over the whole document, where and as the statement template numbers its
    pages (its parts leave that to the join: no part knows how many pages the others make)."""
    pages = []
    for n, (pdf, count) in enumerate(pdfs):
        (folder / f"{n}.pdf").write_bytes(pdf)
        if page_words is None:
            pages += [f'#page(image("/{n}.pdf", page: {page}))' for page in range(1, count + 1)]
        else:
            pages += [f'#page(background: image("/{n}.pdf", page: {page}))[]' for page in range(1, count + 1)]
    if page_words is None:
        setup = "#set page(width: auto, height: auto, margin: 0pt)"
    else:
        page, of = (typst_escape(word) for word in page_words)
        setup = STATEMENT_PAGES.replace("PAGE", page).replace("OF", of)
    return (setup + "\n" + "\n".join(pages)).encode()
