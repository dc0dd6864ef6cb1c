"""Alembic migration scripts, shipped inside the package as ``idlbot.migrations``."""
