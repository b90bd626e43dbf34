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
- a message renders within ``RENDER_SECONDS`` of its own CPU time (the rendering thread's),
  checked at every loop iteration, call and output chunk: time spent waiting for the processor
  (other renders on the sweep's threads, a busy machine) is not the template's.

Going past a limit raises ``TemplateLimitExceeded`` (a Jinja ``SecurityError``). ``render_message``
lets Jinja's errors through (the shipped defaults never raise them); ``render_untrusted`` turns
every template problem into ``ValidationFailed`` naming the part: ``subject``, ``text`` or ``html``.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache, update_wrapper
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, operators
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

MAX_PRODUCT_BITS = 4_096
MAX_WRAPPED_CHARS = 20_000
MAX_LINK_ATTRIBUTE_CHARS = 100
MAX_URLIZED_CHARS = 50_000
MAX_JSON_INDENT = 8
# The codecs ``str.encode`` / ``bytes.decode`` may name: those whose time grows with the text's
# length. Python's punycode takes time that grows with its square, in one C call the time budget
# cannot stop (100,000 characters: 12 s; idna and others go through it), and a template has no
# need of any other.
TEMPLATE_CODECS = frozenset({"utf-8", "ascii", "iso8859-1", "utf-16", "utf-32"})


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


class TemplateLimitExceeded(SecurityError):
    """A template went past one of the sandbox's resource limits."""


# --- the budget of one render ---------------------------------------------------------------


class _Budget:
    """What one render may still use. Its time is the rendering thread's CPU time, so a render
    that waits for the processor (the sweep renders on several threads, the machine may be busy)
    is not refused for another's work. A thread's CPU clock costs a system call (~1 µs), the
    monotonic clock a few tens of ns, and CPU time never runs faster than the wall clock: so
    each tick reads only the monotonic clock, and the CPU clock when the wall clock says the
    budget could be spent, moving the next look to when it could be spent at the earliest."""

    __slots__ = ("built", "cpu_limit", "deadline", "iterations")

    def __init__(self, seconds: float) -> None:
        self.cpu_limit = time.thread_time() + seconds
        self.deadline = time.monotonic() + seconds
        self.iterations = 0
        self.built = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            left = self.cpu_limit - time.thread_time()
            if left <= 0:
                raise TemplateLimitExceeded(
                    f"the template takes too long to render (the limit is {RENDER_SECONDS:g} s)"
                )
            self.deadline = time.monotonic() + left

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


def _too_large(what: str = "builds a value", limit: int | None = None) -> TemplateLimitExceeded:
    return TemplateLimitExceeded(f"the template {what} longer than {limit or MAX_OUTPUT_CHARS:,} characters")


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


class _Oversized(Exception):
    pass


def text_size(value: Any, limit: int = MAX_OUTPUT_CHARS) -> int:
    """How many characters ``value`` becomes as text (``str``, ``tojson``, ``pprint``, output).

    A list holding the same list 2,000 times is small in memory but huge as text, so the size is
    *expanded*: nested values count every time they appear. Each distinct container is measured
    once (memoised by identity) and measuring stops as soon as the total passes ``limit``, so this
    costs at most ~``limit`` steps however the value was built. Returns ``limit + 1`` past the limit.
    """
    memo: dict[int, int] = {}
    keep: list[Any] = []  # ids stay valid while their objects are alive

    def size(item: Any, budget: int) -> int:
        if isinstance(item, str):
            return len(item) + 2
        if isinstance(item, bool) or item is None:
            return 5
        if isinstance(item, int):
            return item.bit_length() * 30103 // 100000 + 2
        if isinstance(item, float):
            return 24
        if isinstance(item, Decimal):
            _sign, digits, exponent = item.as_tuple()
            return len(digits) + (abs(exponent) if isinstance(exponent, int) else 0) + 4
        if isinstance(item, bytes):
            return len(item) * 4 + 3
        if not isinstance(item, list | tuple | dict | set | frozenset):
            return 8
        key = id(item)
        if key in memo:
            if memo[key] < 0:  # a value that contains itself
                raise _Oversized
            return memo[key]
        memo[key] = -1
        keep.append(item)
        total = 2
        elements: Iterable[Any] = (
            (x for pair in item.items() for x in pair) if isinstance(item, dict) else item
        )
        for element in elements:
            total += size(element, budget - total) + 2
            if total > budget:
                raise _Oversized
        memo[key] = total
        return total

    try:
        return size(value, limit)
    except (_Oversized, RecursionError):
        return limit + 1


def _require_text(value: Any, what: str = "builds a value") -> None:
    """Refuse a value that would be longer than a whole message once it becomes text."""
    if isinstance(value, str):
        if len(value) > MAX_OUTPUT_CHARS:
            raise _too_large(what)
    elif _containers_or_int(value) and text_size(value) > MAX_OUTPUT_CHARS:
        raise _too_large(what)


def _containers_or_int(value: Any) -> bool:
    return isinstance(value, list | tuple | dict | set | frozenset | int) and not isinstance(value, bool)


def _expanded(value: Any) -> int:
    """The length of a string, or the text size of anything else."""
    return len(value) if isinstance(value, str | bytes | bytearray) else text_size(value)


# ``%`` conversions: flags, width and precision (``*`` takes them from the arguments).
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)", re.DOTALL)
_DIGITS = re.compile(r"\d+")


def _spec_number(digits: str) -> int:
    # More than seven digits is over any limit: do not even convert it.
    return MAX_OUTPUT_CHARS + 1 if len(digits) > 7 else int(digits)


def _check_format(spec: str, args: Iterable[Any]) -> None:
    """Refuse ``'%.*f' % (500000000, 1)``, ``'{:>999999999}'.format(1)``, ``'%s' % (huge,)``...
    *before* formatting: the result is at most the format string plus, per conversion, its width
    and precision plus the largest argument as text."""
    values = list(args.values()) if isinstance(args, Mapping) else list(args)
    if len(values) == 1 and isinstance(values[0], Mapping):
        values = list(values[0].values())
    largest = max((text_size(v) for v in values), default=0)
    numbers = [abs(v) for v in values if isinstance(v, int) and not isinstance(v, bool)]
    widest = max(numbers, default=0)
    # Every conversion adds its width and precision and, at most, the largest argument.
    total = len(spec)

    def add(size: int) -> None:
        nonlocal total
        total += size
        if total > MAX_OUTPUT_CHARS:
            raise _too_large("asks for a width" if size > MAX_OUTPUT_CHARS // 2 else "builds a value")

    if "%" in spec:
        for match in _PERCENT_SPEC.finditer(spec):
            if match.group(3) != "%":
                add(largest)
                for part in match.group(1, 2):
                    add(widest if part == "*" else _spec_number(part) if part else 0)
    if "{" in spec:
        with suppress(ValueError):  # a malformed format fails when it runs, not here
            for _literal, name, format_spec, _conversion in string.Formatter().parse(spec):
                if name is not None:
                    add(largest)
                    for digits in _DIGITS.findall(format_spec or ""):
                        add(_spec_number(digits))
                    add((format_spec or "").count("{") * widest)


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
        # As Jinja's, with every operand checked *before* it becomes text.
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.built({join}((")
        for operand in node.nodes:
            self.write("environment.textable(")
            self.visit(operand, frame)
            self.write("), ")
        self.write(")))")

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        # ``==``, ``<`` and ``in`` walk nested values in C: bound their operands first.
        self.write("(environment.textable(")
        self.visit(node.expr, frame)
        self.write(")")
        for operand in node.ops:
            self.write(f" {operators[operand.op]} environment.textable(")
            self.visit(operand.expr, frame)
            self.write(")")
        self.write(")")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        # A key is hashed in C, however deeply it nests: bound it first.
        self.write("{")
        for item in node.items:
            self.write("environment.textable(")
            self.visit(item.key, frame)
            self.write("): ")
            self.visit(item.value, frame)
            self.write(", ")
        self.write("}")

    def _output_const_repr(self, group: Iterable[Any]) -> str:
        return f"environment.emitted({super()._output_const_repr(group)})"

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write("environment.emitted(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        self.write(")")


# Filters whose integer arguments are sizes (widths, counts of items or slices).
_SIZE_ARGUMENT_FILTERS = frozenset({"batch", "center", "indent", "slice", "truncate", "wordwrap"})


def _capped_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def capped(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in args if not _is_jinja_context(a)]
        budget = _current.get()
        if budget is not None:
            budget.tick()
        # No value larger than a message may go into a filter (``string``, ``tojson``, ``join``,
        # ``pprint``, ``sum``...): it would become text or be copied before any check could run.
        for value in [*values, *kwargs.values()]:
            _require_text(value)
        if name in _SIZE_ARGUMENT_FILTERS:
            for size in [*values[1:], *kwargs.values()]:
                _require_width(size)
        if name == "indent" and values:
            width = kwargs.get("width", values[1] if len(values) > 1 else 4)
            lines = str(values[0]).count("\n") + 1
            prefix = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
            if len(str(values[0])) + lines * prefix > MAX_OUTPUT_CHARS:
                raise _too_large()
        elif name == "format" and values and isinstance(values[0], str):
            _check_format(values[0], [*values[1:], *kwargs.values()])
        elif name == "replace" and len(values) >= 3:
            _check_replace(values[0], values[1], values[2])
        elif name == "join" and values:
            items = list(values[0])
            separator = kwargs.get("d", values[1] if len(values) > 1 else "")
            _check_join(separator, items)
            args = (*args[: len(args) - len(values)], items, *values[1:])
        elif name == "tojson":
            # every line of the JSON is indented: a wide indent multiplies its size
            indent = kwargs.get("indent", values[1] if len(values) > 1 else None)
            if isinstance(indent, int) and indent > MAX_JSON_INDENT:
                raise TemplateLimitExceeded(f"tojson's indent may be at most {MAX_JSON_INDENT}")
            if isinstance(indent, str) and len(indent) > MAX_JSON_INDENT:
                raise TemplateLimitExceeded(f"tojson's indent may be at most {MAX_JSON_INDENT} characters")
        elif name == "urlize":
            # Python-level work per word (~0.4 s for 180,000 characters)
            if values and len(str(values[0])) > MAX_URLIZED_CHARS:
                raise TemplateLimitExceeded(f"urlize may scan at most {MAX_URLIZED_CHARS:,} characters")
            # target and rel are copied into every link found
            for extra in [*values[1:], *kwargs.values()]:
                if isinstance(extra, str) and len(extra) > MAX_LINK_ATTRIBUTE_CHARS:
                    raise TemplateLimitExceeded(
                        f"urlize's target and rel may be at most {MAX_LINK_ATTRIBUTE_CHARS} characters"
                    )
        elif name == "sum":
            start = kwargs.get("start", values[2] if len(values) > 2 else 0)
            if not isinstance(start, int | float | Decimal):
                raise TemplateLimitExceeded("sum() may only add numbers")
        elif name == "wordwrap":
            wrapstring = kwargs.get("wrapstring", values[3] if len(values) > 3 else None)
            if isinstance(wrapstring, str) and len(wrapstring) > 8:
                raise TemplateLimitExceeded("wordwrap's wrapstring may be at most 8 characters")
            # Python's textwrap takes ~1 s for 100,000 one-letter lines.
            if values and len(str(values[0])) > MAX_WRAPPED_CHARS:
                raise TemplateLimitExceeded(f"wordwrap may wrap at most {MAX_WRAPPED_CHARS:,} characters")
        return _built(function(*args, **kwargs))

    return update_wrapper(capped, function)


def _capped_test(function: Callable[..., Any]) -> Callable[..., Any]:
    """A test (``is eq``, ``is in``...) compares in C: no value larger than a message goes in."""

    def capped(*args: Any, **kwargs: Any) -> Any:
        for value in [*args, *kwargs.values()]:
            if not _is_jinja_context(value):
                _require_text(value)
        return function(*args, **kwargs)

    return update_wrapper(capped, function)


def _check_join(separator: Any, items: list[Any]) -> None:
    if len(str(separator)) * len(items) + sum(_expanded(i) for i in items) > MAX_OUTPUT_CHARS:
        raise _too_large()


def _is_jinja_context(value: Any) -> bool:
    from jinja2.environment import Environment
    from jinja2.nodes import EvalContext
    from jinja2.runtime import Context

    return isinstance(value, Environment | EvalContext | Context)


def _check_replace(value: Any, old: Any, new: Any) -> None:
    if isinstance(value, bytes | bytearray) and isinstance(old, bytes) and isinstance(new, bytes):
        text, old_text, new_text = value.decode("latin-1"), old.decode("latin-1"), new.decode("latin-1")
    else:
        text, old_text, new_text = str(value), str(old), str(new)
    count = text.count(old_text) if old_text else len(text) + 1
    if len(text) + count * max(0, len(new_text) - len(old_text)) > MAX_OUTPUT_CHARS:
        raise _too_large("builds a value")


class TenantSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox plus Pregón's resource limits (see the module's docstring)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BudgetedCodeGenerator

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(autoescape=autoescape, keep_trailing_newline=False, finalize=_finalize)
        self.globals["range"] = capped_range
        self.globals.pop("lipsum", None)
        self.filters = {name: _capped_filter(name, f) for name, f in self.filters.items()}
        self.tests = {name: _capped_test(cast(Callable[..., Any], f)) for name, f in self.tests.items()}
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

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, tuple):  # hashed in C
            _require_text(argument)
        return super().getitem(obj, argument)

    def textable(self, value: Any) -> Any:
        """An operand of ``~``: refused before it becomes text when it would be too long."""
        _require_text(value)
        return value

    def emitted(self, value: Any) -> Any:
        budget = _current.get()
        if budget is not None:
            budget.build(_size_of(value))
        return value

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = _current.get()
        if budget is not None:
            budget.tick()
        if operator == "*":
            for sized, times in ((left, right), (right, left)):
                sequence = isinstance(sized, str | bytes | bytearray | list | tuple)
                repeated = sequence and _int(times) and times > 0
                if repeated and _expanded(sized) * times > MAX_OUTPUT_CHARS:
                    raise _too_large()
            if _int(left) and _int(right) and left.bit_length() + right.bit_length() > MAX_PRODUCT_BITS:
                raise TemplateLimitExceeded(f"the template computes a number of over {MAX_PRODUCT_BITS} bits")
        elif operator == "**" and _huge_power(left, right):
            raise TemplateLimitExceeded(f"the template computes a number of over {MAX_POWER_BITS} bits")
        elif operator == "+" and isinstance(left, str | list | tuple):
            if _expanded(left) + _expanded(right) > MAX_OUTPUT_CHARS:
                raise _too_large()
        elif operator == "%" and isinstance(left, str):
            _check_format(left, right if isinstance(right, tuple | Mapping) else [right])
        return _built(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _current.get()
        if budget is not None:
            budget.tick()
        for value in [*args, *kwargs.values()]:
            _require_text(value)
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        if owner is not None and not isinstance(owner, type | ModuleType):
            _require_text(owner)
        method = getattr(target, "__name__", "")
        if _int(owner) and method == "to_bytes":
            for arg in [*args, *kwargs.values()]:
                _require_width(arg)
        if isinstance(owner, str | bytes | bytearray):
            if method in ("center", "ljust", "rjust", "zfill"):
                for arg in [*args, *kwargs.values()]:
                    _require_width(arg)
            elif method == "expandtabs":
                tabsize = [*args, *kwargs.values(), 8][0]
                _require_width(tabsize)
                tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
                if isinstance(tabsize, int) and len(owner) + tabs * tabsize > MAX_OUTPUT_CHARS:
                    raise _too_large()
            elif method in ("encode", "decode"):
                _check_codec(method, [*args[:1], *[v for k, v in kwargs.items() if k == "encoding"]])
            elif method in ("translate", "maketrans") and isinstance(owner, str):
                raise TemplateLimitExceeded(f"templates may not use str.{method}()")
            elif method in ("format", "format_map") and isinstance(owner, str):
                _check_format(owner, [*args, *kwargs.values()])
            elif method == "replace" and len(args) >= 2:
                _check_replace(owner, args[0], args[1])
            elif method == "join" and args:
                items = list(__self.budgeted_iter(args[0]))
                _check_join(owner, items)
                args = (items, *args[1:])
        return _built(super().call(__context, __obj, *args, **kwargs))


def _check_codec(method: str, named: list[Any]) -> None:
    """``encode`` / ``decode`` with a codec of :data:`TEMPLATE_CODECS` only (UTF-8 when none is named)."""
    import codecs

    for encoding in named:
        try:
            codec = codecs.lookup(str(encoding)).name
        except LookupError:
            codec = str(encoding)
        if codec not in TEMPLATE_CODECS:
            allowed = ", ".join(sorted(TEMPLATE_CODECS))
            codec = str(encoding)[:40]
            raise TemplateLimitExceeded(f"templates may use {method}() only with {allowed}, not {codec!r}")


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finalize(value: Any) -> Any:
    """Every ``{{ ... }}``: nothing for a missing value (None), and nothing too long to print."""
    if value is None:
        return ""
    _require_text(value, "renders a text")
    return value


@lru_cache(maxsize=2)
def _environment(autoescape: bool = True) -> TenantSandbox:
    return TenantSandbox(autoescape=autoescape)


@lru_cache(maxsize=128)
def _compiled(source: str, autoescape: bool) -> Any:
    # Subjects and plain text are not HTML: escaping there would show "&amp;" to the reader.
    return _environment(autoescape).from_string(source)


def _generate(template: Any, variables: dict[str, Any], limit: int | None = None) -> str:
    """Render through ``generate()``, stopping as soon as the output passes the limit
    (:data:`MAX_OUTPUT_CHARS` unless given)."""
    budget = _current.get()
    limit = limit or MAX_OUTPUT_CHARS
    parts: list[str] = []
    size = 0
    for chunk in template.generate(variables):
        size += len(chunk)
        if size > limit:
            raise _too_large("renders a text", limit)
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
    from chalicelib.core.errors import ValidationFailed

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
    return constant_problem(source, autoescape=autoescape)


class _NotConstant(Exception):
    pass


@lru_cache(maxsize=128)
def constant_problem(source: str, *, autoescape: bool) -> str | None:
    """A resource limit that a constant expression *anywhere* in the template goes past, also in a
    branch the sample data does not take (``{% if false %}{{ [[1]*199999]*2000 }}{% endif %}``).

    Every expression made only of literals, operators, filters, ``range`` and string methods is
    evaluated within the sandbox's limits; anything that depends on a variable is left to the
    runtime limits, which apply to every branch anyway."""
    environment = _environment(autoescape)
    try:
        tree = environment.parse(source)
    except Exception:  # syntax errors are reported by syntax_problem
        return None
    from jinja2.nodes import EvalContext

    context = environment.from_string("").new_context({})
    evaluator = _ConstantEvaluator(environment, EvalContext(environment), context)
    with _budgeted():
        for node in tree.find_all(nodes.Expr):
            try:
                evaluator.value(node)
            except TemplateLimitExceeded as exc:
                return f"line {node.lineno}: {exc}"
            except (RecursionError, MemoryError):
                return f"line {node.lineno}: {describe_problem(MemoryError())}"
            except Exception:  # noqa: S112  # nosec B112 # not a constant, or an error the render will name
                continue
    return None


_CONSTANT_BINOPS: dict[type[nodes.BinExpr], str] = {
    nodes.Add: "+",
    nodes.Sub: "-",
    nodes.Mul: "*",
    nodes.Div: "/",
    nodes.FloorDiv: "//",
    nodes.Mod: "%",
    nodes.Pow: "**",
}


class _ConstantEvaluator:
    """Evaluates the constant parts of a template's tree through the sandbox (memoised per node)."""

    def __init__(self, environment: TenantSandbox, eval_ctx: Any, context: Any) -> None:
        self.environment = environment
        self.eval_ctx = eval_ctx
        self.context = context
        self.known: dict[int, Any] = {}

    def value(self, node: nodes.Node) -> Any:
        key = id(node)
        if key not in self.known:
            try:
                self.known[key] = (True, self._evaluate(node))
            except TemplateLimitExceeded:
                raise
            except Exception:
                self.known[key] = (False, None)
        constant, result = self.known[key]
        if not constant:
            raise _NotConstant
        return result

    def _evaluate(self, node: nodes.Node) -> Any:  # one case per node type
        env = self.environment
        if isinstance(node, nodes.Const):
            return node.value
        if isinstance(node, nodes.TemplateData):
            return node.data
        if isinstance(node, nodes.List | nodes.Tuple):
            items = [self.value(item) for item in node.items]
            return items if isinstance(node, nodes.List) else tuple(items)
        if isinstance(node, nodes.Dict):
            return {self.value(pair.key): self.value(pair.value) for pair in node.items}
        if isinstance(node, nodes.BinExpr) and type(node) in _CONSTANT_BINOPS:
            left, right = self.value(node.left), self.value(node.right)
            return env.call_binop(self.context, _CONSTANT_BINOPS[type(node)], left, right)
        if isinstance(node, nodes.Neg):
            return -self.value(node.node)
        if isinstance(node, nodes.Concat):
            return env.built("".join(str(env.textable(self.value(n))) for n in node.nodes))
        if isinstance(node, nodes.Getitem):
            return env.getitem(self.value(node.node), self.value(node.arg))
        if isinstance(node, nodes.Getattr):
            return env.getattr(self.value(node.node), node.attr)
        if isinstance(node, nodes.Filter) and node.node is not None:
            if node.dyn_args is not None or node.dyn_kwargs is not None:
                raise _NotConstant
            args = [self.value(a) for a in node.args]
            kwargs: dict[str, Any] = {str(k.key): self.value(k.value) for k in node.kwargs}
            return env.call_filter(node.name, self.value(node.node), args, kwargs, eval_ctx=self.eval_ctx)
        if isinstance(node, nodes.Call):
            if node.dyn_args is not None or node.dyn_kwargs is not None:
                raise _NotConstant
            if isinstance(node.node, nodes.Name) and node.node.name == "range":
                function: Any = capped_range
            elif isinstance(node.node, nodes.Getattr):
                function = self.value(node.node)
            else:
                raise _NotConstant
            args = [self.value(a) for a in node.args]
            kwargs = {str(k.key): self.value(k.value) for k in node.kwargs}
            return env.call(self.context, function, *args, **kwargs)
        raise _NotConstant


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


@lru_cache(maxsize=4)
def _escaping_environment(escape: Callable[[str], str]) -> TenantSandbox:
    environment = TenantSandbox(autoescape=False)
    # Every ``{{ ... }}`` output, constants included, passes through ``escape``: only the
    # template's literal text is markup; nothing a value or an expression prints ever is.
    environment.finalize = lambda value: escape(str(_finalize(value)))
    return environment


@lru_cache(maxsize=128)
def _compiled_escaping(source: str, escape: Callable[[str], str]) -> Any:
    return _escaping_environment(escape).from_string(source)


def render_escaped(
    source: str,
    variables: dict[str, Any],
    escape: Callable[[str], str],
    *,
    field: str,
    output_chars: int | None = None,
) -> str:
    """One untrusted template for a markup other than HTML (the typst of PDF documents): every
    ``{{ ... }}`` output goes through ``escape``, within the same limits as messages (its whole
    output within ``output_chars`` when given: Pregón's own document templates, whose values
    the API bounds, print more than a tenant's may). Any problem is a ``ValidationFailed``
    naming ``field``."""
    from jinja2.exceptions import TemplateSyntaxError

    from chalicelib.core.errors import ValidationFailed

    problem = syntax_problem(source, autoescape=False)
    if problem:
        raise ValidationFailed([{"field": field, "message": problem}])
    with _budgeted():
        try:
            return _generate(_compiled_escaping(source, escape), variables, output_chars)
        except TemplateSyntaxError as exc:
            raise ValidationFailed([{"field": field, "message": f"syntax error: {exc.message}"}]) from exc
        except Exception as exc:
            raise ValidationFailed([{"field": field, "message": describe_problem(exc)}]) from exc
