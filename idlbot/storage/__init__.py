"""Persistence: SQLAlchemy models, alembic-managed schema, repositories.

Rows never leave this package; callers get frozen dataclasses or plain values.
"""
