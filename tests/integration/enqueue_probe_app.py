"""A tiny Celery app for the enqueue integration test (not the product's worker).

It registers ``APPLY_EVENT_TASK`` on ``EVENTS_QUEUE`` and records what each
task received (args, kwargs, argsrepr, kwargsrepr) in the Redis list
``probe:received``. The broker is ``PROBE_BROKER_URL``.
"""

from __future__ import annotations

import json
import os

import redis
from celery import Celery

from contract.constants import APPLY_EVENT_TASK, EVENTS_QUEUE
from toky_ghl.keys import broker_keyprefix

BROKER_URL = os.environ["PROBE_BROKER_URL"]
RECEIVED_KEY = "probe:received"

app = Celery("enqueue_probe", broker=BROKER_URL)
app.conf.update(
    task_default_queue=EVENTS_QUEUE,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # The product's default prefix, as the publisher's queue list is under it.
    broker_transport_options={"global_keyprefix": broker_keyprefix("tokyghl")},
)
_store = redis.Redis.from_url(BROKER_URL)


@app.task(name=APPLY_EVENT_TASK, bind=True)
def apply_event(self, *args, **kwargs):
    record = {
        "args": list(args),
        "kwargs": kwargs,
        "argsrepr": getattr(self.request, "argsrepr", None),
        "kwargsrepr": getattr(self.request, "kwargsrepr", None),
        "delivery_info": self.request.delivery_info,
    }
    _store.rpush(RECEIVED_KEY, json.dumps(record))
