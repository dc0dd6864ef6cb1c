"""Numbers users type as ids (`remind cancel 3`, `announce cancel 12`, `agenda skip #7`).

`str.isdigit` and `\\d` also take "²" and "٣", and nothing bounds the size: "²" made
`int` raise and 18446744073709551616 overflowed the database's integer columns, both
"Something broke". An id is ASCII digits within the 32-bit range every id column has.
"""

from __future__ import annotations

MAX_ID = 2**31 - 1  # the id columns are INTEGER (int4 on PostgreSQL)


def parse_id(text: str) -> int | None:
    """`text` as an id from 1 to MAX_ID, or None when it is no such number."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
