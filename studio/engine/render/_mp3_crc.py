"""CRC-16/ARC for MP3 Info frames: poly 0x8005 reflected (0xA001), init 0, no final xor (ffmpeg's AV_CRC_16_ANSI_LE).

Besides the plain CRC, the CRC of a concatenation from the CRCs of its parts (`crc16_combine`) and of a
prefix from the CRC of the whole and of the tail (`crc16_strip_tail`), so a splice need not read every byte again.
"""

from __future__ import annotations


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16/ARC of data, continuing from crc."""
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


# With init 0 and no final xor the register after data D is D(x)*x^16 mod P, so
# crc(A+B) = crc(A)*x^(8|B|) + crc(B). Registers are reflected: bit 15 holds the x^0 coefficient,
# bit 0 the x^15 one, and multiplying by x is a right shift with 0xA001 folded in.
_ONE = 0x8000
_X = 0x4000
_X_INVERSE = 0x4003  # x^15 + x^14 + x = (P - 1) / x; P(0) = 1 makes x invertible


def _mul(a: int, b: int) -> int:
    product = 0
    for _ in range(16):
        if a & 0x8000:
            product ^= b
        a = (a << 1) & 0xFFFF
        if not a:
            break
        b = (b >> 1) ^ 0xA001 if b & 1 else b >> 1
    return product


def _powers(base: int) -> tuple[int, ...]:
    squares = [base]
    for _ in range(63):
        squares.append(_mul(squares[-1], squares[-1]))
    return tuple(squares)


_X_SQUARES = _powers(_X)  # x^(2^k)
_X_INVERSE_SQUARES = _powers(_X_INVERSE)  # x^-(2^k)


def _power(squares: tuple[int, ...], exponent: int) -> int:
    result, k = _ONE, 0
    while exponent:
        if exponent & 1:
            result = _mul(result, squares[k])
        exponent >>= 1
        k += 1
    return result


def crc16_combine(crc_a: int, crc_b: int, len_b: int) -> int:
    """CRC-16/ARC of A+B from crc16(A), crc16(B) and len(B)."""
    return _mul(crc_a, _power(_X_SQUARES, 8 * len_b)) ^ crc_b


def crc16_strip_tail(crc_whole: int, crc_tail: int, len_tail: int) -> int:
    """CRC-16/ARC of A from crc16(A+T), crc16(T) and len(T)."""
    return _mul(crc_whole ^ crc_tail, _power(_X_INVERSE_SQUARES, 8 * len_tail))
