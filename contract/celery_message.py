"""Celery task messages (protocol 2) as kombu's Redis transport stores them, built without Celery.

The format is the one ``celery.app.amqp.AMQP.as_task_v2`` builds and
``kombu.transport.virtual.Channel.basic_publish`` augments before the Redis
transport ``LPUSH``es it as JSON (checked against a real ``send_task`` in
``tests/unit/test_enqueue_message.py``):

- ``body``: base64 of the JSON ``[args, kwargs, embed]``;
- ``headers``: the task name, its id, ``argsrepr``/``kwargsrepr`` (what
  Flower and the worker's logs show), retries 0, no ETA, no expiry;
- ``properties``: ``delivery_info`` with the default exchange ``""`` and the
  queue as routing key (so an unacknowledged message is restored to that queue),
  a unique ``delivery_tag``, priority 0 (the queue's own list), persistent.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid
from typing import Any

_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def default_origin() -> str:
    """Who published, as Celery writes it: ``producer<pid>@<host>``."""
    return f"producer{os.getpid()}@{socket.gethostname()}"


def task_message(
    task_name: str,
    args: list[Any],
    *,
    queue: str,
    argsrepr: str,
    origin: str,
    kwargsrepr: str = "{}",
    kwargs: dict[str, Any] | None = None,
) -> str:
    """One task message (JSON text) for ``task_name(*args, **kwargs)`` on ``queue``."""
    task_id = str(uuid.uuid4())
    body = json.dumps([args, kwargs or {}, _EMBED], ensure_ascii=False, separators=(",", ":"))
    message = {
        "body": base64.b64encode(body.encode("utf-8")).decode("ascii"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": task_name,
            "id": task_id,
            "shadow": None,
            "eta": None,
            "expires": None,
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [None, None],
            "root_id": task_id,
            "parent_id": None,
            "argsrepr": argsrepr,
            "kwargsrepr": kwargsrepr,
            "origin": origin,
            "ignore_result": False,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
        },
        "properties": {
            "correlation_id": task_id,
            "reply_to": "",
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    return json.dumps(message, separators=(",", ":"))
