"""Table definitions: the single source of truth that migrations are checked against.

A test runs alembic's autogenerate comparison against a migrated database, so any
change here without a matching revision in ``migrations/versions`` fails CI.

Constraint names come from a naming convention so they are identical on SQLite
and PostgreSQL; without it PostgreSQL invents names, SQLite has none, and a later
migration that drops or alters a constraint cannot name it portably.

No column has a server default: defaults are applied by SQLAlchemy on insert, so
the DDL is the same on both dialects and nothing depends on per-dialect SQL like
``now()`` versus ``CURRENT_TIMESTAMP``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from idlbot.ports.outbox import OutboxState

__all__ = [
    "OUTBOX_STATES",
    "Base",
    "ChannelCursorRow",
    "DeliveryKeyRow",
    "DmChannelRow",
    "HandledPostRow",
    "OutboxRow",
    "OutboxState",
    "UtcDateTime",
    "metadata",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

OUTBOX_STATES: tuple[OutboxState, ...] = ("pending", "sending", "sent", "failed")

# Mattermost ids are 26 characters of base32.
MM_ID = String(26)


class UtcDateTime(TypeDecorator[datetime]):
    """An instant, always handed back as an aware UTC ``datetime``.

    SQLite has no time zone type: aware values would be stored with an offset
    suffix and compare as strings, so ``12:00+01:00`` would sort after
    ``11:30+00:00``. We store naive UTC there, and ``TIMESTAMP WITH TIME ZONE``
    on PostgreSQL. Naive input is rejected rather than guessed at, because a naive
    local time silently stored as UTC shifts every deadline by the UTC offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(DateTime(timezone=False))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: storage needs an aware datetime")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = metadata


class OutboxRow(Base):
    """A message the bot must post, exactly once, even across crashes.

    ``key`` is the caller's idempotency key: enqueueing the same logical message
    twice (e.g. after a restart re-runs a schedule) must not post it twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(
            "(channel_id IS NOT NULL AND dm_user_id IS NULL)"
            " OR (channel_id IS NULL AND dm_user_id IS NOT NULL)",
            name="one_target",
        ),
        CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed')", name="state"),
        Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        # per-channel order: claim_due looks for an earlier unsent row of the same target
        Index("ix_outbox_channel_id_id", "channel_id", "id"),
        Index("ix_outbox_dm_user_id_id", "dm_user_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    channel_id: Mapped[str | None] = mapped_column(MM_ID)
    dm_user_id: Mapped[str | None] = mapped_column(MM_ID)
    message: Mapped[str] = mapped_column(Text)
    props: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    files: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # attachments, base64
    root_id: Mapped[str | None] = mapped_column(MM_ID)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # the replica sending it and until when; past that, another replica takes it over
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    post_id: Mapped[str | None] = mapped_column(MM_ID)
    last_error: Mapped[str | None] = mapped_column(Text)


class HandledPostRow(Base):
    """A post the bot has acted on; the primary key makes handling happen once.

    The same post can arrive on the websocket and again in the re-sync after a
    websocket gap; whoever inserts the row first handles it.
    """

    __tablename__ = "handled_posts"

    post_id: Mapped[str] = mapped_column(MM_ID, primary_key=True)
    channel_id: Mapped[str] = mapped_column(MM_ID)
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChannelCursorRow(Base):
    """Newest post ``create_at`` (ms since epoch, Mattermost's clock) seen per channel.

    After a websocket gap the bot fetches posts since this value; it is an integer
    from the server, not our clock, so it is compared exactly and never converted.
    """

    __tablename__ = "channel_cursors"

    channel_id: Mapped[str] = mapped_column(MM_ID, primary_key=True)
    last_post_at: Mapped[int] = mapped_column(BigInteger)


class DeliveryKeyRow(Base):
    """A webhook delivery already handled, per consumer (`scope`), e.g. GitLab's
    `Idempotency-Key`, which a resend of the same delivery carries again.

    The primary key makes "handled once" the database's decision (INSERT … ON CONFLICT),
    and `seen_at` lets old keys be pruned once no resend can bring them back.
    """

    __tablename__ = "delivery_keys"
    __table_args__ = (Index("ix_delivery_keys_seen_at", "seen_at"),)

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DmChannelRow(Base):
    """The bot's direct-message channel with a user.

    Mattermost creates a DM channel on the first `POST /channels/direct` and returns the
    same one ever after, so the id never changes; keeping it here spares a fan-out after a
    restart one request per student (rate-limited servers allow ~10 per second). Keyed by
    the bot's own id too: a course that replaces its bot account must not post into the
    old account's channels, where the new one is no member and every DM would fail.
    """

    __tablename__ = "dm_channels"

    bot_user_id: Mapped[str] = mapped_column(MM_ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(MM_ID, primary_key=True)
    channel_id: Mapped[str] = mapped_column(MM_ID)
