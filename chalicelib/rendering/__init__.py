"""Templates render in a Jinja2 sandbox with autoescape: tenants write them, so they are untrusted."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
LANGUAGES = ("es", "en")


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import select_autoescape
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        keep_trailing_newline=False,
    )


@lru_cache(maxsize=64)
def _compiled(source: str, autoescape: bool) -> Any:
    env = _environment()
    if autoescape:
        return env.from_string(source)
    # Subjects and plain text are not HTML: escaping there would show "&amp;" to the reader.
    return env.from_string("{% autoescape false %}" + source + "{% endautoescape %}")


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


def render_message(sources: tuple[str, str, str], variables: dict[str, Any]) -> RenderedMessage:
    subject, text, html = sources
    return RenderedMessage(
        subject=" ".join(_compiled(subject, False).render(variables).split()),
        text=_compiled(text, False).render(variables),
        html=_compiled(html, True).render(variables),
    )


def render_page(name: str, language: str, variables: dict[str, Any]) -> str:
    """A shipped HTML page (e.g. the unsubscribe confirmation), autoescaped."""
    lang = language if language in LANGUAGES else "es"
    source = (TEMPLATES_DIR / lang / f"{name}.html").read_text(encoding="utf-8")
    return str(_compiled(source, True).render(variables))
