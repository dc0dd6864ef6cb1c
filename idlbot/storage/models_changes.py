"""One counter the ledger's writers raise, so every process can tell its copies are stale.

`storage/changes.py` keeps in-memory copies of ledgers and roster entries (what
`/idl status` and `/idl deadlines` read) and must learn of every write to the tables they
are built from, in this process and in any other (a replica, `idlbot roster import`). A
write transaction that touched one of those tables adds 1 to `ledger_version.n` before it
commits, so the row changes exactly when they did, and reading it is one tiny SELECT.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.storage.models import Base

__all__ = ["LedgerVersionRow"]


class LedgerVersionRow(Base):
    """The one row (id 1): `n` grows by one with every transaction that changed a ledger."""

    __tablename__ = "ledger_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger)
