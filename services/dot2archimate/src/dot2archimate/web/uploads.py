"""What may be uploaded: size, extension and a look at the content, before any parser sees it.

A user's file name is display text only: it is never joined to a path or used as a storage key;
downloads get a name reduced to `[A-Za-z0-9._-]`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from .errors import EmptyInputError, UnsupportedMediaTypeError, UploadTooLargeError

__all__ = ["ACCEPTED_EXTENSIONS", "Upload", "classify_upload", "display_name", "download_stem"]

InputType = Literal["dot", "xml"]

#: extension -> what its content must be
ACCEPTED_EXTENSIONS: dict[str, InputType] = {".dot": "dot", ".gv": "dot", ".txt": "dot", ".xml": "xml"}

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (or Office document)"),
    (b"\x1f\x8b", "a gzip archive"), (b"\x7fELF", "an executable"), (b"MZ", "a Windows executable"),
    (b"BZh", "a bzip2 archive"), (b"\xfd7zXZ", "an xz archive"), (b"7z\xbc\xaf", "a 7-Zip archive"),
)  # fmt: skip
_LEADING = re.compile(rb"\A(?:\s+|//[^\n]*\n?|#[^\n]*\n?|/\*.*?\*/)*", re.DOTALL)
_DOT_START = re.compile(rb"\A(?:strict\s+)?(?:di)?graph\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes
    kind: InputType
    name: str  # display name (never a path)
    stem: str  # safe stem for download names


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _sniff(data: bytes) -> InputType:
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    for magic, what in _MAGIC:
        if body.startswith(magic):
            raise UnsupportedMediaTypeError(f"the content is {what}, not a DOT graph or ArchiMate XML")
    if b"\x00" in body[:8192]:
        raise UnsupportedMediaTypeError("the content is binary, not a DOT graph or ArchiMate XML")
    head = body[:65536]
    if head.lstrip().startswith(b"<"):
        return "xml"
    rest = head[_LEADING.match(head).end() :]  # type: ignore[union-attr]  # the pattern always matches
    if _DOT_START.match(rest):
        return "dot"
    raise UnsupportedMediaTypeError(
        "the content is neither a DOT graph (it must start with `graph`, `digraph` or `strict`) "
        "nor ArchiMate exchange XML"
    )


def classify_upload(data: bytes, filename: str | None, max_bytes: int) -> Upload:
    """Check size, extension and content; raises 413/415/422 errors with a message for the user."""
    if len(data) > max_bytes:
        raise UploadTooLargeError(f"the input is {_mb(len(data))}; the limit is {_mb(max_bytes)}")
    if not data.strip():
        raise EmptyInputError("the input is empty")
    name = display_name(filename) if filename else "pasted text"
    expected: InputType | None = None
    if filename:
        ext = _extension(name)
        if ext not in ACCEPTED_EXTENSIONS:
            shown = f"of type '{ext}'" if ext else "without an extension"
            raise UnsupportedMediaTypeError(
                f"files {shown} are not accepted; upload "
                ".dot, .gv or .txt (DOT, terraform graph) or .xml (ArchiMate exchange format)"
            )
        expected = ACCEPTED_EXTENSIONS[ext]
    kind = _sniff(data)
    if expected is not None and kind != expected:
        found = "XML" if kind == "xml" else "DOT"
        raise UnsupportedMediaTypeError(f"the file is named {_extension(name)} but contains {found}")
    return Upload(data=data, kind=kind, name=name, stem=download_stem(filename))


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def display_name(filename: str) -> str:
    """The last path component of a client-supplied name, without control characters, ≤ 120 chars."""
    base = re.split(r"[\\/]", filename)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:120] or "upload"


def download_stem(filename: str | None) -> str:
    """A stem safe in any file system and header: `[A-Za-z0-9._-]`, no leading dot, ≤ 60 chars."""
    if not filename:
        return "model"
    base = display_name(filename)
    dot = base.rfind(".")
    stem = base[:dot] if dot > 0 else base
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_stem).strip("._-")
    return safe[:60] or "model"
