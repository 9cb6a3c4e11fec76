"""Showing text people typed inside Markdown exactly as typed: no links, images, HTML or layout."""

from __future__ import annotations

import re

__all__ = ["md_cell", "md_escape"]

# Characters with inline meaning anywhere (emphasis, code, links, images, HTML, tables,
# entities, strike-through); ( ) ! only matter after "]", which is escaped.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|&~])")
# Constructs that only count at the start of a line: headings, lists, quotes, setext underlines.
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


def md_escape(text: str) -> str:
    """Escape Markdown so user text is shown as typed, never interpreted.

    Examples
    --------
    >>> md_escape("![x](http://evil)")
    '!\\\\[x\\\\](http://evil)'
    >>> md_escape("# title"), md_escape("12. item"), md_escape("demo-admin")
    ('\\\\# title', '12\\\\. item', 'demo-admin')
    """
    lines = _MD_INLINE.sub(r"\\\1", text).split("\n")
    return "\n".join(_MD_LINE_START.sub(_escape_last, line) for line in lines)


def md_cell(text: object) -> str:
    """A Markdown table cell: one line, inline Markdown escaped (a cell never starts a line).

    Examples
    --------
    >>> md_cell("a | b\\n*c*")
    'a \\\\| b \\\\*c\\\\*'
    """
    return _MD_INLINE.sub(r"\\\1", " ".join(str(text).split()))


def _escape_last(match: re.Match[str]) -> str:
    """Put a backslash before the marker's last character ("#" → "\\#", "12." → "12\\.")."""
    marker = match.group(2)
    return match.group(1) + marker[:-1] + "\\" + marker[-1]
