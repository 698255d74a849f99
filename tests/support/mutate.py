"""A plain random-mutation input generator for fuzzing (deterministic for a seed).

What a coverage-guided fuzzer would start from, without the coverage: valid inputs (the seeds)
damaged the ways a serial line or a hand-edited file damages them — truncated, bits flipped,
bytes inserted, deleted or replaced, pieces of two inputs spliced, a piece repeated — plus
random bytes. Cheap enough for a million inputs per target in pure Python.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

#: bytes that mean something to one of our codecs: line ends, JSON punctuation, EA start
#: delimiters (query/answer/send, both directions), 0 and 0xFF
INTERESTING = b'\x00\xff\n\r:#{}[]",.-0123456789eE \x40\x50\x70\x80\x85\xc0\xd0\xf0\xff'


class Mutator:
    def __init__(self, seeds: Sequence[bytes], seed: int = 0, max_len: int = 512) -> None:
        if not seeds:
            raise ValueError("at least one seed input is needed")
        self.seeds = [bytes(s) for s in seeds]
        self.rng = random.Random(seed)
        self.max_len = max_len

    def inputs(self, n: int) -> Iterator[bytes]:
        for _ in range(n):
            yield self.one()

    def one(self) -> bytes:
        r = self.rng
        kind = r.randrange(10)
        if kind == 0:  # random bytes
            return r.randbytes(r.randrange(0, 64))
        data = bytearray(r.choice(self.seeds))
        for _ in range(1 + (r.random() < 0.3) * r.randrange(1, 4)):  # mostly one damage, some stacked
            self._damage(data, r.randrange(7))
        return bytes(data[: self.max_len])

    def _damage(self, data: bytearray, how: int) -> None:
        r = self.rng
        n = len(data)
        if how == 0 and n:  # truncation
            del data[r.randrange(n) :]
        elif how == 1 and n:  # bit flip
            i = r.randrange(n)
            data[i] ^= 1 << r.randrange(8)
        elif how == 2:  # insert a byte (often a meaningful one)
            b = r.choice(INTERESTING) if r.random() < 0.5 else r.randrange(256)
            data.insert(r.randrange(n + 1), b)
        elif how == 3 and n:  # delete a run
            i = r.randrange(n)
            del data[i : i + r.randrange(1, 5)]
        elif how == 4 and n:  # replace a byte
            data[r.randrange(n)] = r.choice(INTERESTING) if r.random() < 0.5 else r.randrange(256)
        elif how == 5:  # splice with another seed
            other = r.choice(self.seeds)
            cut, at = r.randrange(len(other) + 1), r.randrange(n + 1)
            data[at:] = other[cut:] if r.random() < 0.5 else other[:cut] + data[at:]
        elif how == 6 and n:  # repeat a piece
            i = r.randrange(n)
            piece = data[i : i + r.randrange(1, 24)]
            data[i:i] = piece * r.randrange(1, 4)
