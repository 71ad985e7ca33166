"""Listeners are set up by the app and worker factories, explicitly and once, never by importing a module."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from tests.conftest import ROOT, Stack

IMPORT_ONLY = """
from sqlalchemy import event
from sqlalchemy.orm import Session

import broadcast.placements, broadcast.pull, feeds.routes, feeds.service
from studio import service as studio_service

assert studio_service._off_air_listeners == [], studio_service._off_air_listeners
assert not event.contains(Session, "after_commit", feeds.service._invalidate_on_commit)
print("clean")
"""


def test_importing_the_domains_registers_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"


def test_the_factories_register_each_listener_once(stack: Stack) -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    import worker
    from app import create_app
    from broadcast import placements
    from feeds import service as feeds_service
    from studio import service as studio_service

    create_app()
    create_app()
    worker.reload_celery()
    assert studio_service._off_air_listeners.count(placements._withdraw_on_off_air) == 1
    assert event.contains(Session, "after_commit", feeds_service._invalidate_on_commit)


def test_a_commit_that_changes_what_feeds_show_invalidates_them_once(stack: Stack) -> None:
    from app import create_app
    from broadcast import service as broadcast_service
    from db import session_scope
    from feeds import service as feeds_service

    create_app()
    feeds_service.register_listeners()  # again: still one listener
    generation = feeds_service.feed_cache.generation
    with session_scope() as session:
        broadcast_service.create_channel(session, slug=f"nghe-{uuid.uuid4().hex[:8]}", name="Kênh thử", kind="podcast")
        assert feeds_service.feed_cache.generation == generation  # not before the commit
    assert feeds_service.feed_cache.generation == generation + 1
