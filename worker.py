"""Celery app: configuration from settings, task discovery and the beat schedule."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_ready
from kombu import Queue
from kombu.transport.virtual import Empty
from kombu.utils.scheduling import FairCycle
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as sqla_transport

from settings import get_settings

QUEUES = ("emergency", "render", "default")
EMBEDDED_TRANSPORT = "lawcast-sqla"


def _queue_rank(name: str) -> int:
    return QUEUES.index(name) if name in QUEUES else len(QUEUES)


class _PriorityCycle(FairCycle):
    """Polls a worker's queues in QUEUES order on every fetch, so emergency work is taken first."""

    def get(self, callback, **kwargs):  # type: ignore[no-untyped-def]
        for queue in sorted(self.resources, key=_queue_rank):
            try:
                return self.fun(queue, callback, **kwargs)
            except self.predicate:
                continue
        raise self.predicate()


class EmbeddedChannel(sqla_transport.Channel):
    """A channel of the embedded transport that fetches by queue priority instead of round robin."""

    def _reset_cycle(self) -> None:
        self._cycle = _PriorityCycle(self._get_and_deliver, self._active_queues, Empty)


class EmbeddedTransport(sqla_transport.Transport):
    """kombu's SQLAlchemy transport, polled every 0.2 s, emergency queue first.

    Its transport options are handed to create_engine, so neither the polling interval nor the
    queue order can go there.
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


def make_celery() -> Celery:
    """Build the Celery app for the configured broker (embedded SQLite by default)."""
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
        broker_transport_options=transport_options,
        worker_hijack_root_logger=False,
        timezone="UTC",
        beat_schedule={
            "requeue-stale-jobs": {"task": "studio.requeue_stale_jobs", "schedule": float(settings.reaper_interval_s)},
            "expand-occurrences": {"task": "broadcast.expand_occurrences", "schedule": 3600.0},
        },
    )
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
