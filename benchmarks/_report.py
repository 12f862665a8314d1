"""Shared by the benchmark scripts: print a Markdown table and, when asked, write it to a file."""

from __future__ import annotations


def emit_table(lines, out=None):
    table = "\n".join(lines) + "\n"
    print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table)
