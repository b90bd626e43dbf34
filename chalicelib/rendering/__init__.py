"""Templates render in a Jinja2 sandbox with autoescape: tenants write them, so they are untrusted.

Jinja's ``SandboxedEnvironment`` refuses Python internals (``__class__``, ``__globals__``, ...) with
a ``SecurityError``. A tenant's template must not be able to exhaust a Lambda either, so every
render here is also *budgeted* (the limits below, see docs/templates.md):

- ``range()`` yields at most ``MAX_RANGE_ITEMS`` items, and all loops of one render together run
  at most ``MAX_LOOP_ITERATIONS`` times;
- a rendered part (subject, text, html) is at most ``MAX_OUTPUT_CHARS`` characters, rendered
  through ``generate()`` and stopped as soon as it goes past the limit;
- every string or list a template builds (``*``, ``+``, ``~``, ``%``, filters, method calls, output
  into ``{% set %}`` blocks and macros) counts against ``MAX_BUILT_CHARS``, and the operations that
  can multiply a size (``'x' * n``, ``'x'|center(n)``, ``'%9999999d'``, ``.replace``, ``.join``,
  ``**``) are checked *before* they allocate;
- a message renders within ``RENDER_SECONDS`` of wall-clock time, checked at every loop
  iteration, call and output chunk.

Going past a limit raises ``TemplateLimitExceeded`` (a Jinja ``SecurityError``). ``render_message``
lets Jinja's errors through (the shipped defaults never raise them); ``render_untrusted`` turns
every template problem into ``ValidationFailed`` naming the part: ``subject``, ``text`` or ``html``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache, update_wrapper
from pathlib import Path
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
LANGUAGES = ("es", "en")
PARTS = ("subject", "text", "html")

MAX_RANGE_ITEMS = 1_000
MAX_LOOP_ITERATIONS = 20_000
MAX_OUTPUT_CHARS = 200_000
MAX_BUILT_CHARS = 2_000_000
MAX_POWER_BITS = 256
RENDER_SECONDS = 1.0

# A width or precision of six digits or more in a format string would build a huge string.
_HUGE_FORMAT_WIDTH = re.compile(r"\d{6,}")
# ``'{:>{}}'.format(x, n)`` / ``'%*d' % (n, x)``: the width comes from an argument.
_ARGUMENT_WIDTH = re.compile(r"\{[^{}]*:[^{}]*\{|%[-+ #0]*\*")


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


class TemplateLimitExceeded(SecurityError):
    """A template went past one of the sandbox's resource limits."""


# --- the budget of one render ---------------------------------------------------------------


class _Budget:
    __slots__ = ("built", "deadline", "iterations")

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.iterations = 0
        self.built = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitExceeded(
                f"the template takes too long to render (the limit is {RENDER_SECONDS:g} s)"
            )

    def iteration(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise TemplateLimitExceeded(
                f"the template's loops run more than {MAX_LOOP_ITERATIONS:,} times in all"
            )
        self.tick()

    def build(self, size: int) -> None:
        self.built += size
        if self.built > MAX_BUILT_CHARS:
            raise TemplateLimitExceeded(f"the template builds more than {MAX_BUILT_CHARS:,} characters")


_current: ContextVar[_Budget | None] = ContextVar("pregon_render_budget", default=None)


@contextmanager
def _budgeted(seconds: float = RENDER_SECONDS) -> Iterator[_Budget]:
    budget = _Budget(seconds)
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def _too_large(what: str = "builds a value") -> TemplateLimitExceeded:
    return TemplateLimitExceeded(f"the template {what} longer than {MAX_OUTPUT_CHARS:,} characters")


def _size_of(value: Any) -> int:
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value)
    return 0


def _built(value: Any) -> Any:
    """Count a value the template built; refuse one larger than a whole message may be."""
    size = _size_of(value)
    if size > MAX_OUTPUT_CHARS:
        raise _too_large()
    budget = _current.get()
    if budget is not None and size:
        budget.build(size)
    return value


def _require_width(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_OUTPUT_CHARS:
        raise _too_large("asks for a width")


def _check_format(spec: str, args: Iterable[Any]) -> None:
    if _HUGE_FORMAT_WIDTH.search(spec):
        raise _too_large("asks for a width")
    if _ARGUMENT_WIDTH.search(spec):
        for arg in args:
            _require_width(arg)


def _huge_power(base: Any, exponent: Any) -> bool:
    if not (isinstance(base, int) and isinstance(exponent, int)) or abs(base) < 2:
        return False
    return exponent * abs(base).bit_length() > MAX_POWER_BITS


def capped_range(*args: int) -> range:
    """The sandbox's ``range``: at most ``MAX_RANGE_ITEMS`` items."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE_ITEMS:
        raise TemplateLimitExceeded(f"range() may produce at most {MAX_RANGE_ITEMS:,} items")
    return numbers


# --- the sandbox ------------------------------------------------------------------------------


LOOP_FILTER = "_pregon_loop"


class _BudgetedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with a budget check in every loop, concatenation and output."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        # Jinja forbids custom node types: route every loop's iterable through a filter instead.
        for loop in node.find_all(nodes.For):
            if not (isinstance(loop.iter, nodes.Filter) and loop.iter.name == LOOP_FILTER):
                loop.iter = nodes.Filter(loop.iter, LOOP_FILTER, [], [], None, None, lineno=loop.lineno)
        super().visit_Template(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.built(")
        super().visit_Concat(node, frame)
        self.write(")")

    def _output_const_repr(self, group: Iterable[Any]) -> str:
        return f"environment.emitted({super()._output_const_repr(group)})"

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write("environment.emitted(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        self.write(")")


def _capped_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def capped(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in args if not _is_jinja_context(a)]
        if name in ("center", "indent"):
            for width in [*values[1:2], kwargs.get("width")]:
                _require_width(width)
        elif name == "format" and values and isinstance(values[0], str):
            _check_format(values[0], [*values[1:], *kwargs.values()])
        elif name == "replace" and len(values) >= 3:
            _check_replace(values[0], values[1], values[2])
        elif name == "wordwrap":
            wrapstring = kwargs.get("wrapstring", values[4] if len(values) > 4 else None)
            if isinstance(wrapstring, str) and len(wrapstring) > 8:
                raise TemplateLimitExceeded("wordwrap's wrapstring may be at most 8 characters")
        return _built(function(*args, **kwargs))

    return update_wrapper(capped, function)


def _is_jinja_context(value: Any) -> bool:
    from jinja2.environment import Environment
    from jinja2.nodes import EvalContext
    from jinja2.runtime import Context

    return isinstance(value, Environment | EvalContext | Context)


def _check_replace(value: Any, old: Any, new: Any) -> None:
    text, old_text, new_text = str(value), str(old), str(new)
    count = text.count(old_text) if old_text else len(text) + 1
    if len(text) + count * max(0, len(new_text) - len(old_text)) > MAX_OUTPUT_CHARS:
        raise _too_large("builds a value")


class TenantSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox plus Pregón's resource limits (see the module's docstring)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BudgetedCodeGenerator

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(autoescape=autoescape, keep_trailing_newline=False)
        self.globals["range"] = capped_range
        self.globals.pop("lipsum", None)
        self.filters = {name: _capped_filter(name, f) for name, f in self.filters.items()}
        self.filters[LOOP_FILTER] = self.budgeted_iter

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # Jinja would return an undefined value that fails only when used; refuse at once.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    # Called by the generated code (see _BudgetedCodeGenerator).
    def budgeted_iter(self, iterable: Any) -> Iterator[Any]:
        budget = _current.get()
        for item in iterable:
            if budget is not None:
                budget.iteration()
            yield item

    def built(self, value: Any) -> Any:
        return _built(value)

    def emitted(self, value: Any) -> Any:
        budget = _current.get()
        if budget is not None:
            budget.build(_size_of(value))
        return value

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sized, times in ((left, right), (right, left)):
                if _size_of(sized) and isinstance(times, int) and _size_of(sized) * times > MAX_OUTPUT_CHARS:
                    raise _too_large()
        elif operator == "**" and _huge_power(left, right):
            raise TemplateLimitExceeded(f"the template computes a number of over {MAX_POWER_BITS} bits")
        elif operator == "%" and isinstance(left, str):
            _check_format(left, right if isinstance(right, tuple) else [right])
        return _built(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _current.get()
        if budget is not None:
            budget.tick()
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str):
            method = getattr(target, "__name__", "")
            if method in ("center", "ljust", "rjust", "zfill", "expandtabs"):
                for arg in [*args, *kwargs.values()]:
                    _require_width(arg)
            elif method in ("format", "format_map"):
                _check_format(owner, [*args, *kwargs.values()])
            elif method == "replace" and len(args) >= 2:
                _check_replace(owner, args[0], args[1])
            elif method == "join" and args:
                items = list(__self.budgeted_iter(args[0]))
                if len(owner) * len(items) + sum(_size_of(i) for i in items) > MAX_OUTPUT_CHARS:
                    raise _too_large()
                args = (items, *args[1:])
        return _built(super().call(__context, __obj, *args, **kwargs))


@lru_cache(maxsize=2)
def _environment(autoescape: bool = True) -> TenantSandbox:
    return TenantSandbox(autoescape=autoescape)


@lru_cache(maxsize=128)
def _compiled(source: str, autoescape: bool) -> Any:
    # Subjects and plain text are not HTML: escaping there would show "&amp;" to the reader.
    return _environment(autoescape).from_string(source)


def _generate(template: Any, variables: dict[str, Any]) -> str:
    """Render through ``generate()``, stopping as soon as the output passes the limit."""
    budget = _current.get()
    parts: list[str] = []
    size = 0
    for chunk in template.generate(variables):
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise _too_large("renders a text")
        if budget is not None:
            budget.tick()
        parts.append(chunk)
    return "".join(parts)


# --- public functions -------------------------------------------------------------------------


@lru_cache(maxsize=64)
def default_template(message_type: str, language: str) -> tuple[str, str, str]:
    """(subject, text, html) sources of a shipped default template."""
    lang = language if language in LANGUAGES else "es"
    folder = TEMPLATES_DIR / lang
    return (
        (folder / f"{message_type}.subject.txt").read_text(encoding="utf-8"),
        (folder / f"{message_type}.txt").read_text(encoding="utf-8"),
        (folder / f"{message_type}.html").read_text(encoding="utf-8"),
    )


def _render_part(part: str, source: str, variables: dict[str, Any]) -> str:
    rendered = _generate(_compiled(source, part == "html"), variables)
    return " ".join(rendered.split()) if part == "subject" else rendered


def render_message(sources: tuple[str, str, str], variables: dict[str, Any]) -> RenderedMessage:
    """Render (subject, text, html) within the sandbox's limits; Jinja's errors pass through."""
    with _budgeted():
        subject, text, html = (_render_part(p, s, variables) for p, s in zip(PARTS, sources, strict=True))
        return RenderedMessage(subject=subject, text=text, html=html)


def render_untrusted(sources: tuple[str, str, str], variables: dict[str, Any]) -> RenderedMessage:
    """Like ``render_message``, but any template problem is a ``ValidationFailed`` naming the part."""
    from chalicelib.errors import ValidationFailed

    for part, source in zip(PARTS, sources, strict=True):
        problem = syntax_problem(source, autoescape=part == "html")
        if problem:
            raise ValidationFailed([{"field": part, "message": problem}])
    rendered: dict[str, str] = {}
    with _budgeted():
        for part, source in zip(PARTS, sources, strict=True):
            try:
                rendered[part] = _render_part(part, source, variables)
            except Exception as exc:
                raise ValidationFailed([{"field": part, "message": describe_problem(exc)}]) from exc
    return RenderedMessage(**rendered)


def syntax_problem(source: str, *, autoescape: bool) -> str | None:
    """What is wrong with a template's syntax, with the line number; None when it compiles."""
    from jinja2.exceptions import TemplateSyntaxError

    try:
        _compiled(source, autoescape)
    except TemplateSyntaxError as exc:
        return f"syntax error on line {exc.lineno}: {exc.message}"
    except SecurityError as exc:  # the compiler evaluates constants, within the same limits
        return describe_problem(exc)
    except (RecursionError, MemoryError):
        return "the template is nested too deeply"
    return None


def describe_problem(exc: BaseException) -> str:
    """A tenant-readable reason why a template could not render."""
    from jinja2.exceptions import TemplateError, UndefinedError

    if isinstance(exc, TemplateLimitExceeded):
        return str(exc)
    if isinstance(exc, SecurityError):
        return f"uses something templates may not use ({exc})"
    if isinstance(exc, UndefinedError):
        return f"uses a variable this message does not offer ({exc.message})"
    if isinstance(exc, TemplateError):
        return f"cannot be rendered ({exc.message})"
    if isinstance(exc, RecursionError):
        return "the template calls itself too deeply"
    if isinstance(exc, MemoryError):
        return str(_too_large())
    return f"cannot be rendered ({type(exc).__name__}: {exc})"


def render_page(name: str, language: str, variables: dict[str, Any]) -> str:
    """A shipped HTML page (e.g. the unsubscribe confirmation), autoescaped."""
    lang = language if language in LANGUAGES else "es"
    source = (TEMPLATES_DIR / lang / f"{name}.html").read_text(encoding="utf-8")
    with _budgeted():
        return _generate(_compiled(source, True), variables)
