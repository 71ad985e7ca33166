"""Celery app: configuration from settings, task discovery and the beat schedule."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from celery import Celery, bootsteps
from celery.signals import worker_ready
from celery.worker.consumer import Consumer
from kombu import Connection, Queue
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as sqla_transport
from kombu.transport.virtual import Empty
from kombu.utils.scheduling import FairCycle

from broadcast.placements import register_listeners
from settings import get_settings

QUEUES = ("emergency", "render", "default")
EMBEDDED_TRANSPORT = "lawcast-sqla"
# At a worker's first connection (it cannot know when a broker lost anything), and for jobs never sent, only
# what is older than this is sent again: a job the API is sending right now is left alone.
RESEND_GUARD_S = 2.0
RESEND_BUDGET_S = 120.0
log = logging.getLogger(__name__)
T = TypeVar("T")


def _queue_rank(name: str) -> int:
    return QUEUES.index(name) if name in QUEUES else len(QUEUES)


class _PriorityCycle(FairCycle):
    """Polls a worker's queues in QUEUES order on every fetch, so emergency work is taken first."""

    def get(self, callback: Callable[..., T] | None, **kwargs: Any) -> T | None:
        for queue in sorted(self.resources, key=_queue_rank):
            try:
                got: T | None = self.fun(queue, callback, **kwargs)
                return got
            except self.predicate:
                continue
        raise self.predicate()


class EmbeddedChannel(sqla_transport.Channel):
    """A channel of the embedded transport that fetches by queue priority instead of round robin."""

    def _reset_cycle(self) -> None:
        self._cycle = _PriorityCycle(self._get_and_deliver, self._active_queues, Empty)


class EmbeddedTransport(sqla_transport.Transport):
    """kombu's SQLAlchemy transport, polled every 0.2 s, emergency queue first.

    There is no supported way to ask for either (kombu 5.7): this transport hands all its transport options
    to create_engine, and the virtual channel it builds on polls its queues round robin with no option to
    change the order (`queue_order_strategy` exists for Redis only). So the channel's cycle is replaced,
    and kombu is pinned to the version this is tested on (pyproject.toml).
    """

    Channel = EmbeddedChannel
    polling_interval = 0.2


TRANSPORT_ALIASES[EMBEDDED_TRANSPORT] = "worker:EmbeddedTransport"


def broker_connection(url: str) -> tuple[str, dict[str, object]]:
    """The broker URL Celery connects to, and its transport options."""
    if url.startswith("sqla+"):
        return f"{EMBEDDED_TRANSPORT}+{url.removeprefix('sqla+')}", {}
    # Redis and SQS redeliver an unacked task after the visibility timeout; renders take minutes at most.
    # 'priority' polls the queues in the order the worker consumes them (QUEUES order), not round robin.
    return url, {"visibility_timeout": 3600, "polling_interval": 0.2, "queue_order_strategy": "priority"}


class ReconnectingConsumer(Consumer):
    """Celery's consumer, retrying a lost broker every LAWCAST_BROKER_RECONNECT_MAX_S at most (Celery waits up to 30 s)."""

    def ensure_connected(self, conn: Connection) -> Connection:
        cap = get_settings().broker_reconnect_max_s
        # Untyped on purpose: kombu takes float seconds here, while its stubs say int.
        ensure: Callable[..., Connection] = conn.ensure_connection
        # An attribute of this one connection shadows the method that Celery's ensure_connected calls.
        vars(conn)["ensure_connection"] = functools.partial(
            ensure, interval_start=min(1.0, cap), interval_step=1.0, interval_max=cap
        )
        return super().ensure_connected(conn)


class ResendOnConnect(bootsteps.StartStopStep):
    """Each time the worker (re)connects to the broker, it sends again the queued jobs whose message may be lost.

    Runs on every worker, safely: each job is marked sent by a conditional update before it is sent, so
    workers that reconnect together send it once, and a duplicate message is harmless (claim() is atomic).
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c: Consumer, **kwargs: Any) -> None:
        super().__init__(c, **kwargs)
        self.lost_at: datetime | None = None

    def start(self, c: Consumer) -> None:
        # In a thread: the consumer must start consuming now, and the database may be down too.
        threading.Thread(target=resend_queued_jobs, args=(c.app, self.lost_at), name="lawcast-resend", daemon=True).start()

    def stop(self, c: Consumer) -> None:
        # Called when the connection is lost (before Celery reconnects) and at shutdown: what was sent before may be gone.
        self.lost_at = datetime.now(UTC)


def resend_queued_jobs(app: Celery, lost_at: datetime | None = None) -> int:
    """Send again the queued jobs sent before lost_at (RESEND_GUARD_S ago at the first connection), or never sent."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import NullPool

    import outages
    from studio import dispatch
    from studio.tasks import backoff_s

    url = get_settings().sqlalchemy_url
    # The worker's parent process forks pool children: a pooled connection made here would be shared with them.
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
    deadline = time.monotonic() + RESEND_BUDGET_S
    retry = 0
    try:
        while True:
            try:
                with Session(engine) as session, session.begin():
                    due = dispatch.resend_queued(session, sent_before=lost_at, guard_s=RESEND_GUARD_S)
                break
            except Exception as exc:
                if outages.kind(exc) is None or time.monotonic() > deadline:
                    log.exception("could not look for queued jobs to send again")
                    return 0
                time.sleep(backoff_s(retry))
                retry += 1
    finally:
        engine.dispose()
    for item in due:
        log.warning("render job %s: %s", item.job_id, item.reason)
        try:
            app.send_task("studio.render", args=[item.job_id], queue=item.queue)
        except Exception:
            # Gone again: the next reconnection sends these (they were marked before it), else the reaper.
            log.warning("broker lost again while sending queued jobs again", exc_info=True)
            return 0
    return len(due)


def make_celery() -> Celery:
    """Build the Celery app for the configured broker (embedded SQLite by default)."""
    register_listeners()  # tasks change productions too: their off-air events must reach the schedules
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    broker_url, transport_options = broker_connection(settings.celery_broker_url)
    celery = Celery("lawcast", broker=broker_url, include=["studio.tasks", "broadcast.tasks"])
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue="default",
        task_queues=[Queue(name) for name in QUEUES],
        task_routes={"studio.render": {"queue": "render"}},
        broker_connection_retry_on_startup=True,
        worker_consumer="worker:ReconnectingConsumer",
        broker_transport_options=transport_options,
        worker_hijack_root_logger=False,
        timezone="UTC",
        beat_schedule={
            "requeue-stale-jobs": {"task": "studio.requeue_stale_jobs", "schedule": float(settings.reaper_interval_s)},
            "expand-occurrences": {"task": "broadcast.expand_occurrences", "schedule": 3600.0},
        },
    )
    celery.steps["consumer"].add(ResendOnConnect)
    # The default app of every thread, not only the current app of this one: studio.dispatch.send_jobs sends through
    # celery.current_app from the API's request threads.
    celery.set_default()
    return celery


celery_app = make_celery()


def reload_celery() -> Celery:
    """Rebuild the app after settings changed (a new broker URL); returns the new app."""
    global celery_app
    celery_app = make_celery()
    return celery_app


@worker_ready.connect
def _recover_on_start(sender: object = None, **_: object) -> None:
    # A worker that died mid-job leaves a 'running' row; recover it when any worker starts.
    celery_app.send_task("studio.requeue_stale_jobs")
