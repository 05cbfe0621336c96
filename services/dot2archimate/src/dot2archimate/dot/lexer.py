"""DOT tokenizer feeding lark's LALR parser.

A hand-written scanner because HTML strings nest (`<<b>x</b>>`), which a regular lexer cannot
match; everything else follows Graphviz's scan.l: keywords are case-insensitive, quoted strings
unescape only `\\"` and drop backslash-newline, `#` starts a line comment, `1a` splits into two tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lark import Token
from lark.lexer import Lexer

from ..budget import active_deadline
from ..errors import DotSyntaxError
from .graph import HtmlString

__all__ = ["DotLexer", "line_col", "unescape_quoted"]

_KEYWORDS = {
    "strict": "STRICT",
    "graph": "GRAPH",
    "digraph": "DIGRAPH",
    "subgraph": "SUBGRAPH",
    "node": "NODE",
    "edge": "EDGE",
}

_PUNCT = {
    "{": "_LB",
    "}": "_RB",
    "[": "_LSQ",
    "]": "_RSQ",
    "=": "_EQ",
    ";": "_SEMI",
    ",": "_COMMA",
    ":": "_COLON",
    "+": "_PLUS",
}

_TOKEN_RE = re.compile(
    r"""
     (?P<ws>[ \t\r\n\f\v\ufeff\xa0]+)
    |(?P<comment>//[^\n]*|\#[^\n]*|/\*.*?\*/)
    |(?P<op>->|--)
    |(?P<num>-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))
    |(?P<id>[A-Za-z_\u0080-\U0010ffff][A-Za-z_0-9\u0080-\U0010ffff]*)
    |(?P<qs>"(?:[^"\\]|\\.)*")
    |(?P<punct>[{}\[\]=;,:+])
    |(?P<html><)
    """,
    re.VERBOSE | re.DOTALL,
)
_ANGLE_RE = re.compile(r"[<>]")
_ESCAPE_RE = re.compile(r"\\(\r\n|.)", re.DOTALL)


def line_col(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of offset `pos` (computed lazily: only errors need it)."""
    pos = max(0, min(pos, len(text)))
    line = text.count("\n", 0, pos) + 1
    return line, pos - text.rfind("\n", 0, pos)


def _unescape(m: re.Match[str]) -> str:
    ch = m.group(1)
    if ch == '"':
        return '"'
    if ch in ("\n", "\r\n"):
        return ""  # line continuation
    return m.group(0)  # every other escape is kept for the attribute's own interpretation


def unescape_quoted(raw: str) -> str:
    """Body of a quoted DOT string (quotes stripped) as Graphviz stores it."""
    return _ESCAPE_RE.sub(_unescape, raw) if "\\" in raw else raw


def _error(text: str, pos: int, message: str) -> DotSyntaxError:
    line, col = line_col(text, pos)
    return DotSyntaxError(message, line, col)


class DotLexer(Lexer):
    """lark custom lexer: `Lark(..., parser="lalr", lexer=DotLexer)`."""

    def __init__(self, lexer_conf: Any) -> None:
        self.conf = lexer_conf

    def lex(self, data: str) -> Iterator[Token]:  # type: ignore[override]  # lark wraps 1-arg lexers
        return tokenize(data)


def tokenize(text: str) -> Iterator[Token]:
    deadline = active_deadline()
    budget_tick = 0
    match = _TOKEN_RE.match
    end = len(text)
    pos = 0
    new = Token
    keywords = _KEYWORDS
    punct = _PUNCT
    while pos < end:
        m = match(text, pos)
        if m is None:
            ch = text[pos]
            if ch == '"':
                raise _error(text, pos, "unterminated quoted string")
            if text.startswith("/*", pos):
                raise _error(text, pos, "unterminated /* comment")
            raise _error(text, pos, f"unexpected character {ch!r}")
        kind = m.lastgroup
        start = pos
        pos = m.end()
        if kind == "ws" or kind == "comment":
            continue
        budget_tick += 1
        if deadline is not None and not budget_tick & 4095:
            deadline.check("parse")
        value = m.group()
        if kind == "id":
            kw = keywords.get(value.lower()) if len(value) <= 8 else None
            yield new(kw or "ID", value, start)
        elif kind == "punct":
            yield new(punct[value], value, start)
        elif kind == "qs":
            yield new("QSTRING", unescape_quoted(value[1:-1]), start)
        elif kind == "num":
            yield new("NUMERAL", value, start)
        elif kind == "op":
            yield new("EDGEOP", value, start)
        else:  # html: scan to the matching '>'
            depth = 1
            scan = pos
            while depth:
                a = _ANGLE_RE.search(text, scan)
                if a is None:
                    raise _error(text, start, "unterminated HTML string (unbalanced '<')")
                depth += 1 if a.group() == "<" else -1
                scan = a.end()
            pos = scan
            yield new("HTML", HtmlString(text[start + 1 : scan - 1]), start)
