"""Text hygiene shared by the writers."""

from __future__ import annotations

import re

__all__ = ["xml_text"]

# characters XML 1.0 forbids (C0 controls except tab/newline/CR, lone surrogates, U+FFFE/U+FFFF)
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(s: str) -> str:
    """`s` with characters XML cannot carry removed (escaping itself is lxml's job)."""
    return _INVALID_XML.sub("", s)
