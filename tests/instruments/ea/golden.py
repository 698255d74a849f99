"""Byte sequences captured from a real EL 3160-60A (shared/reference/ea-el3000-telegram.md §8).

Kept in one place so that codec, driver and simulator are all checked against the same bytes.
"""

from __future__ import annotations


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def cs(body: bytes) -> bytes:
    return (sum(body) & 0xFFFF).to_bytes(2, "big")


Q_TYPE = h("70 00 00 00 70")  # query object 0 (device type)
A_TYPE = h("8B 01 00") + b"EL 3160-60A\0" + h("02 DB")
Q_SERIAL = h("70 00 01 00 71")
A_SERIAL = h("8A 01 01") + b"2649810226\0" + h("02 94")
Q_FIRMWARE = h("70 00 09 00 79")
_A_FW_BODY = h("8E 01 09") + b"V5.05 02.08.12\0"
A_FIRMWARE = _A_FW_BODY + cs(_A_FW_BODY)  # the reference gives the bytes, not the checksum
Q_AH_WRONG_LENGTH = h("70 00 45 00 B5")  # object 69 with length field 0 …
A_LENGTH_ERROR = h("C0 01 FF 08 01 C8")  # … is refused: OBJ 0xFF, code 0x08
Q_AH = h("73 00 45 00 B8")  # object 69 announcing 4 bytes
Q_ACTUAL = h("75 00 47 00 BC")  # object 71 announcing 6 bytes
A_ACTUAL = h("85 01 47 64 00 1E 00 50 00 01 9F")  # U 100 %, I 30 %, P 80 %
Q_ACTUAL_NODE1_NOCAST = h("55 01 47 00 9D")  # manual example: DN 1, cast bit 0
W_REMOTE_ON = h("F1 00 36 10 10 01 47")  # object 54: mask 0x10, value 0x10
