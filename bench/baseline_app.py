"""The baseline of bench/pipeline.py: a plain Celery integration as commonly written.

One task per event calling GHL directly with one ``requests`` session per
process; ``autoretry_for=(Exception,)`` with backoff; the prefork pool; no
rate limit (a throughput baseline is not throttled). No guarantees: no id map
(a call looks its contact up first), no dedupe, no lock, no shared budget.
"""

from __future__ import annotations

import os

import requests
from celery import Celery

app = Celery("baseline", broker=os.environ["REDIS_URL"])
app.conf.update(task_serializer="json", accept_content=["json"], task_ignore_result=True,
                task_default_queue="baseline", worker_prefetch_multiplier=4)

BASE = os.environ["GHL_API_BASE"]
HEADERS = {"Authorization": f"Bearer {os.environ['GHL_TOKEN']}", "Version": "2021-07-28"}
LOCATION = os.environ["GHL_LOCATION_ID"]
session = requests.Session()


@app.task(name="baseline.apply", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def apply(event: dict) -> None:
    data = event["data"]
    if event["type"] == "contact.created":
        body = {"locationId": LOCATION, "phone": data["phone"], "name": data.get("contact_name")}
        session.post(f"{BASE}/contacts/upsert", json=body, headers=HEADERS,
                     timeout=30).raise_for_status()
        return
    phone = data["from_number"]
    found = session.get(f"{BASE}/contacts/search/duplicate", headers=HEADERS, timeout=30,
                        params={"locationId": LOCATION, "number": phone})
    found.raise_for_status()
    contact_id = (found.json().get("contact") or {}).get("id")
    if contact_id is None:
        answer = session.post(f"{BASE}/contacts/upsert", headers=HEADERS, timeout=30,
                              json={"locationId": LOCATION, "phone": phone})
        answer.raise_for_status()
        contact_id = answer.json()["contact"]["id"]
    note = {"body": f"Call {data['callid']} {data['direction']} {data['state']}"}
    session.post(f"{BASE}/contacts/{contact_id}/notes", json=note, headers=HEADERS,
                 timeout=30).raise_for_status()
