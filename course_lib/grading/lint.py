"""The lint of answer cells: an answer that names a library its assignment forbids scores zero.

Hiding the libraries from the sandbox (``sandbox``) makes them unusable; this names the attempt in the
feedback, so a student learns why the answer scored nothing.
"""

from __future__ import annotations

import ast


def shortcut_use(source: str, forbidden: tuple[str, ...]) -> str:
    """'' when an answer cell names none of the forbidden libraries, else what it names and where."""
    if not forbidden:
        return ""
    aliases = set(forbidden) | {"tf"} if "tensorflow" in forbidden else set(forbidden)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    for node in ast.walk(tree):
        found = None
        if isinstance(node, ast.Import):
            found = next((a.name for a in node.names if a.name.split(".")[0] in forbidden), None)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found = node.module if node.module.split(".")[0] in forbidden else None
        elif isinstance(node, ast.Name) and (node.id in aliases or node.id in ("__import__", "importlib")):
            found = node.id
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found = next((f for f in forbidden if f in node.value), None)
        if found:
            return f"{found} (line {getattr(node, 'lineno', '?')})"
    return ""
