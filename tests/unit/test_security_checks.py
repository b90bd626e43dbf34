"""Secrets are compared in constant time, through one helper, and Bandit's findings are each fixed
or explained in place (docs/operations.md "Security checks", docs/decisions/0036-security-checks.md).

A comparison's timing cannot be shown reliably in a test, so these check the helper and the code:
no ``==``/``!=`` has a secret on either side, and only the helper calls ``compare_digest``."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from chalicelib.core.secrets import same_secret
from tests.steps.sources import parsed_source, parsed_sources

ROOT = Path(__file__).resolve().parents[2]
HELPER = "chalicelib/core/secrets.py"
#: Names that hold a secret, or something made of one (a hash, a signature, a nonce).
SECRET_NAME = re.compile(
    r"secret|password|passwd|token|signature|hmac|digest|nonce|credential|api_?key", re.IGNORECASE
)
#: Names that match SECRET_NAME and hold no secret: (file, name) -> what they hold.
NOT_SECRETS = {
    ("chalicelib/producers/sms_replies/keywords.py", "tokens"): "the words of an SMS",
    ("chalicelib/producers/documents/pdf.py", "tokens"): "what Jinja's lexer read of a template",
    ("chalicelib/records/inbound_mail.py", "token"): "a reply's (company, message) from its headers",
}


@cache
def _sources() -> tuple[tuple[str, ast.Module], ...]:
    """Every module of the service and its infrastructure, parsed once per process (shared)."""
    files = [parsed_source(ROOT / "app.py"), *parsed_sources("chalicelib")]
    files += [s for s in parsed_sources("infrastructure") if "out" not in s.path.parts]
    return tuple((s.name, s.tree) for s in files)


def _names(node: ast.AST) -> Iterator[str]:
    """The names an operand reads: variables, attributes, subscripts' and ``.get``'s string keys,
    the functions it calls (``token_hash(x)`` is a secret's hash); not a string it compares to."""
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute):
        yield node.attr
        yield from _names(node.value)
    elif isinstance(node, ast.Subscript):
        if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            yield node.slice.value
        yield from _names(node.value)
    elif isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "get" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield first.value
        yield from _names(func)
        for arg in node.args:
            yield from _names(arg)
    elif isinstance(node, ast.JoinedStr | ast.FormattedValue | ast.BinOp | ast.BoolOp | ast.UnaryOp):
        for child in ast.iter_child_nodes(node):
            yield from _names(child)


def _is_condition(node: ast.AST) -> bool:
    """A PynamoDB condition (``SubscriptionModel.link_nonce == nonce``): DynamoDB compares, not us."""
    while isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name | ast.Attribute) and (
            getattr(node.value, "id", "") or getattr(node.value, "attr", "")
        ).endswith("Model"):
            return True
        node = node.value
    return False


def _not_a_secret(node: ast.AST) -> bool:
    """A number, a bool, None or a length: nothing a timing could leak a secret's byte through."""
    if isinstance(node, ast.Constant) and not isinstance(node.value, str | bytes):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"


def secrets_compared_with_equals() -> list[str]:
    found = []
    for name, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            if not any(isinstance(o, ast.Eq | ast.NotEq) for o in node.ops):
                continue
            operands = [node.left, *node.comparators]
            if any(_is_condition(o) or _not_a_secret(o) for o in operands):
                continue
            named = {n for o in operands for n in _names(o) if SECRET_NAME.search(n)}
            named -= {n for (file, n) in NOT_SECRETS if file == name}
            if named:
                found.append(f"{name}:{node.lineno} compares {sorted(named)} with == or !=")
    return found


def test_same_secret_is_true_only_for_the_same_secret() -> None:
    # Given a stored token's hash
    stored = "9f" * 32
    # When the same value is presented, as text or bytes; Then it matches
    assert same_secret("9f" * 32, stored) and same_secret(stored.encode(), stored.encode())
    # And one differing in its last character, shorter or longer does not
    assert not same_secret("9f" * 31 + "9e", stored)
    assert not same_secret(stored[:-1], stored) and not same_secret(stored + "0", stored)
    # And a presented value with a character outside ASCII is unequal, not an error
    # (hmac.compare_digest raises TypeError for such text)
    assert not same_secret("9f" * 31 + "ñ", stored)
    assert same_secret("contraseña", "contraseña")
    # And a missing secret matches nothing, not even another missing one
    assert not same_secret(None, stored) and not same_secret("", None) and not same_secret(None, None)


def test_no_secret_token_signature_or_key_is_compared_with_equals() -> None:
    # Given every module of the service and its infrastructure
    # When each == and != is read; Then none has a secret, a token, a signature, a digest, a
    # nonce or an API key on either side (same_secret compares them in constant time)
    assert secrets_compared_with_equals() == []


def test_the_check_sees_a_secret_compared_with_equals() -> None:
    # Given code that compares a presented token's hash and a nonce with == (as the link nonce was)
    tree = ast.parse(
        "ok = token_hash(presented) == expected\n"
        "fresh = subscription.link_nonce != claims.get('n')\n"
        "cond = SubscriptionModel.link_nonce == nonce\n"
        "short = len(tokens) == 1\n"
    )
    compares = [n for n in ast.walk(tree) if isinstance(n, ast.Compare)]
    # Then the first two are secrets compared with ==; the condition and the length are not
    flagged = [
        c.lineno
        for c in compares
        if not any(_is_condition(o) or _not_a_secret(o) for o in [c.left, *c.comparators])
        and any(SECRET_NAME.search(n) for o in [c.left, *c.comparators] for n in _names(o))
    ]
    assert sorted(flagged) == [1, 2]


def test_only_the_helper_calls_compare_digest() -> None:
    # Given every module; Then compare_digest (hmac's or secrets') is called in same_secret only,
    # so every comparison of a secret treats non-ASCII text and None the same way
    callers = [
        f"{name}:{node.lineno}"
        for name, tree in _sources()
        if name != HELPER
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "compare_digest"
    ]
    assert callers == []


@pytest.mark.parametrize("folder", ["chalicelib", "infrastructure"])
def test_every_bandit_exception_names_its_check_and_says_why(folder: str) -> None:
    # Given the lines Bandit is told to pass over (a bare "# nosec" would hide every check)
    marked = [
        (path.relative_to(ROOT).as_posix(), n, line)
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"#\s*nosec", line)
    ]
    # Then each names its checks and gives a reason after them: "# nosec B105 # why"
    explained = re.compile(r"# nosec B\d{3}(, B\d{3})* # \S.{5,}$")
    assert [m for m in marked if not explained.search(m[2])] == []
    assert marked  # (the search found the marks at all)
