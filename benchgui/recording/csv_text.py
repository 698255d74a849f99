"""A CSV file's bytes as text lines, in constant memory (the importer's first step).

:func:`sniff` decides the encoding in one pass over the file (the old importer decoded the whole
file at once to find out, issue 22); :class:`Lines` hands out physical lines and refuses one
longer than :data:`MAX_LINE_CHARS`, so a file without line ends cannot fill the memory either.
"""

from __future__ import annotations

import codecs
import hashlib
import io
from collections.abc import Iterator
from typing import BinaryIO

MAX_LINE_CHARS = 1 << 20  # characters in one physical line (a bench export's are under 200)
_CHUNK_BYTES = 1 << 16


class LineTooLong(ValueError):
    """A physical line longer than :data:`MAX_LINE_CHARS`; ``line`` is its number (1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__(f"line longer than {MAX_LINE_CHARS} characters")
        self.line = line


def sniff(f: BinaryIO) -> tuple[str, int, str, str]:
    """(codec, offset where the text starts, encoding name, SHA-256 of the bytes).

    UTF-8 (a BOM skipped) when every byte decodes, UTF-16 after its BOM, otherwise Latin-1 —
    the same choice the whole-file decode made, in chunks of :data:`_CHUNK_BYTES`."""
    start = f.tell()
    digest = hashlib.sha256()
    head = f.read(3)
    digest.update(head)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec, skip = "utf-16", 0
    else:
        codec, skip = "utf-8", 3 if head == b"\xef\xbb\xbf" else 0
    checker = codecs.getincrementaldecoder("utf-8")() if codec == "utf-8" else None
    chunk, final = head[skip:], False
    while True:
        if checker is not None:
            try:
                checker.decode(chunk, final=final)
            except UnicodeDecodeError:
                checker, codec = None, "latin-1"
        if final:
            break
        chunk = f.read(_CHUNK_BYTES)
        digest.update(chunk)
        final = not chunk
    return codec, start + skip, codec, digest.hexdigest()


class Lines:
    """Physical lines of ``text`` (line ends kept, as ``csv`` wants them), counted."""

    def __init__(self, text: io.TextIOBase) -> None:
        self.text = text
        self.count = 0

    def next_line(self) -> str:
        """The next line, "" at the end; :class:`LineTooLong` for one over the limit."""
        line = self.text.readline(MAX_LINE_CHARS + 1)
        if line:
            self.count += 1
            if len(line) > MAX_LINE_CHARS:
                raise LineTooLong(self.count)
        return line

    def __iter__(self) -> Iterator[str]:
        while line := self.next_line():
            yield line
