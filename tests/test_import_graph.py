"""The package's import graph: no import loops, no private name used across areas.

Read from the source (every ``import`` statement, those inside functions included),
so that a loop hidden in a function-level import counts as one.

The rule for private names: a ``_name`` (one leading underscore; dunders such as
``__version__`` are public) belongs to its module. It may be used elsewhere inside
the same subpackage (``models/``, ``losses/``, ``train/``, ``_widgets/``: one area
each), never across areas, neither imported (``from .noise2void import _predict``)
nor reached through a module (``dip._padding``). Modules whose own name starts with
``_`` (``_arrays``, ``_fitting``) are the package's shared plumbing: any module may
import them and use their public names.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

PACKAGE = Path(importlib.util.find_spec("napari_superres").origin).parent

# Loops and private names known to remain, each with the area that removes it.
KNOWN_LOOPS = set()
KNOWN_PRIVATE = set()


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules():
    """``{module name: path}`` of every module of the package."""
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def resolve(node, importer, is_package):
    """The absolute module an ``ImportFrom`` node names, as seen from ``importer``."""
    if not node.level:
        return node.module or ""
    parts = importer.split(".")
    base = parts[: len(parts) - node.level + is_package]
    return ".".join(base + ([node.module] if node.module else []))


def imports(name, path, known):
    """``(modules imported, [(module, private name)] used)`` by one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    targets, private, aliases = set(), [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = resolve(node, name, path.name == "__init__.py")
            for alias in node.names:
                if f"{source}.{alias.name}" in known:  # a module: from . import dip
                    targets.add(f"{source}.{alias.name}")
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
                elif source in known:
                    targets.add(source)
                    if is_private(alias.name):
                        private.append((source, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    targets.add(alias.name)
                    if alias.asname:
                        aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                and is_private(node.attr):
            private.append((aliases[node.value.id], node.attr))
    targets.discard(name)
    return targets, private


def is_private(name):
    return name.startswith("_") and not name.startswith("__")


def area(name):
    """A module's area: its subpackage, or the module itself at the package's root."""
    parts = name.split(".")
    return ".".join(parts[:2])


def graph():
    known = modules()
    edges, crossings = {}, set()
    for name, path in known.items():
        edges[name], private = imports(name, path, known)
        crossings |= {(name, f"{source}.{attribute}") for source, attribute in private
                      if source != name and area(source) != area(name)}
    return edges, crossings


def loops(edges):
    """Every elementary import loop, each once, starting from its smallest module."""
    found = set()

    def walk(start, node, path):
        for target in edges.get(node, ()):
            if target == start:
                found.add(tuple(path))
            elif target > start and target not in path:
                walk(start, target, path + [target])

    for start in sorted(edges):
        walk(start, start, [start])
    return found


def test_finds_a_loop_and_a_private_name():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert loops(edges) == {("a", "b", "c")}
    assert area("napari_superres.models.edsr") == "napari_superres.models"
    assert area("napari_superres.dip") != area("napari_superres.noise2void")


def test_no_import_loops():
    assert loops(graph()[0]) - KNOWN_LOOPS == set()


def test_no_private_name_crosses_areas():
    assert graph()[1] - KNOWN_PRIVATE == set()
