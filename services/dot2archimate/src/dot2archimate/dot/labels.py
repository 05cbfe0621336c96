"""Display text of DOT labels: escString expansion, HTML and record labels reduced to plain text."""

from __future__ import annotations

import html
import re

from .graph import HtmlString

__all__ = ["display_label"]

_ESC_RE = re.compile(r"\\(.)", re.DOTALL)
_TAG_RE = re.compile(r"<[^<>]*>")
_BREAK_TAG_RE = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_RECORD_PORT_RE = re.compile(r"<[^<>]*>")
_SPACES_RE = re.compile(r"[ \t]+")
_RECORD_SHAPES = frozenset({"record", "mrecord"})


def _esc(name: str, graph: str):  # type: ignore[no-untyped-def]
    def sub(m: re.Match[str]) -> str:
        ch = m.group(1)
        if ch == "N":
            return name
        if ch == "G":
            return graph
        if ch in "nlr":
            return "\n"
        if ch in "ETH":  # edge/tail/head names: meaningless on nodes
            return ""
        return ch

    return sub


def display_label(label: str | None, name: str, graph_name: str = "", shape: str = "") -> str:
    """What a user reads on the node: `\\N` is the node name, `\\n` a line break, HTML tags dropped."""
    if label is None or label == "":
        return name
    if isinstance(label, HtmlString):
        text = _BREAK_TAG_RE.sub("\n", label)
        text = html.unescape(_TAG_RE.sub("", text))
    else:
        text = _ESC_RE.sub(_esc(name, graph_name), label) if "\\" in label else label
        if shape.lower() in _RECORD_SHAPES:
            text = _RECORD_PORT_RE.sub("", text).replace("{", "").replace("}", "")
            text = " | ".join(p.strip() for p in text.split("|") if p.strip())
    lines = [_SPACES_RE.sub(" ", ln).strip() for ln in text.splitlines()]
    text = "\n".join(ln for ln in lines if ln)
    return text or name
