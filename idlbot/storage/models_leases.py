"""Leases of singleton periodic passes, one row per pass name (``ports/leases.py``).

A row is written by one atomic INSERT ... ON CONFLICT DO UPDATE ... WHERE: a replica gets
the lease if there is no row, if it holds it already, or if it expired. Rows are never
needed once expired; a clean stop deletes its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.storage.models import Base, UtcDateTime

__all__ = ["LeaseRow"]


class LeaseRow(Base):
    """Lease ``name`` held by replica ``holder`` until ``expires_at`` (since ``acquired_at``)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
