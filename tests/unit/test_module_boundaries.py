"""The application's modules use each other through public names (DESIGN.md): what one module
borrows from another has a public home, so neither can change it believing it private."""

from __future__ import annotations

import ast

from tests.steps.sources import parsed_sources


def test_no_module_imports_another_modules_private_name() -> None:
    # Given every module of the application
    borrowed = []
    for source in parsed_sources("chalicelib"):
        # When its imports are read (at the top and inside functions)
        for node in ast.walk(source.tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chalicelib"):
                borrowed += [
                    f"{source.name}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    # Then none takes another module's private name (a company's deletion took three of a client's
    # erasure and the store's: now tenants.clients.addresses_and_phones,
    # store.tables.existing_items and store.communications.unpacked_body)
    assert borrowed == []
