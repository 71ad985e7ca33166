"""Celery tasks of the broadcast side."""
