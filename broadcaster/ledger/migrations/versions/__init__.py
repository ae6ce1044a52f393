"""Alembic revisions, one file each, oldest first (a package so they ship in the wheel)."""
