"""Alembic revisions. Name files ``NNNN_slug.py`` with ``--rev-id NNNN_slug``."""
