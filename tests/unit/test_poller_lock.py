"""One poller at a time: the lock, its renewal, and a second poller that waits."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import fakeredis
import pytest

from producers.polling.lock import LockLost, PollerLock
from producers.polling.report import PollReport
from producers.polling.runner import run_poller

KEY = "t:poller:lock"


class CountingPoller:
    """Stands in for ``Poller``: counts polls, stops the loop after ``stop_after``."""

    def __init__(self, stop: threading.Event | None = None, stop_after: int = 1) -> None:
        self.polls = 0
        self.stop = stop
        self.stop_after = stop_after

    def poll_once(self, check=lambda: None) -> PollReport:
        check()
        self.polls += 1
        if self.stop is not None and self.polls >= self.stop_after:
            self.stop.set()
        return PollReport()


@pytest.fixture
def redis_client():
    return fakeredis.FakeRedis()


def test_a_second_lock_is_refused_and_names_the_holder(redis_client):
    # Given one poller holding the lock
    first, second = PollerLock(redis_client, KEY), PollerLock(redis_client, KEY)
    assert first.acquire()
    # When a second tries
    taken = second.acquire()
    # Then it is refused and can say who holds it
    assert taken is False
    holder = second.holder()
    assert (holder["pid"], holder["host"]) == (os.getpid(), socket.gethostname())


def test_the_lock_expires_and_renewal_pushes_the_expiry_back(redis_client):
    # Given a lock with a 30 s expiry, 20 s gone
    lock = PollerLock(redis_client, KEY, ttl_s=30)
    lock.acquire()
    redis_client.expire(KEY, 10)
    # When it is renewed
    assert lock.renew()
    # Then the expiry is 30 s again
    assert 28 <= redis_client.ttl(KEY) <= 30


def test_a_lock_taken_over_is_lost_and_never_released_for_the_new_holder(redis_client):
    # Given our lock expired and another poller took it
    ours, theirs = PollerLock(redis_client, KEY), PollerLock(redis_client, KEY)
    ours.acquire()
    redis_client.delete(KEY)
    theirs.acquire()
    # When we try to renew, check and release
    renewed = ours.renew()
    ours.release()
    # Then we learn it is lost, and their lock stays
    assert renewed is False
    with pytest.raises(LockLost):
        ours.check()
    assert json.loads(redis_client.get(KEY)) == json.loads(theirs.value)


def test_once_with_the_lock_held_says_so_and_exits_zero_without_polling(redis_client):
    # Given another poller holding the lock
    PollerLock(redis_client, KEY).acquire()
    poller, lines = CountingPoller(), []
    # When a poller runs once, not waiting
    status = run_poller(poller, PollerLock(redis_client, KEY), once=True, interval_s=30,
                        lock_wait_s=0, stop=threading.Event(), say=lines.append)
    # Then it says who holds the lock, polls nothing and exits 0
    assert status == 0 and poller.polls == 0
    assert lines[0].startswith(f"another poller holds the lock (pid {os.getpid()} on host ")
    assert lines[0].endswith("; waiting up to 0 s")
    assert lines[-1] == "poll --once: the lock is still held; nothing polled"


def test_a_second_poller_waits_and_takes_over_when_the_first_stops(redis_client):
    # Given a first poller holding the lock
    first = PollerLock(redis_client, KEY)
    first.acquire()
    stop = threading.Event()
    poller, lines = CountingPoller(stop), []
    # When a second poller starts (looping), and the first releases a moment later
    thread = threading.Thread(target=run_poller, args=(poller, PollerLock(redis_client, KEY)),
                              kwargs={"once": False, "interval_s": 30, "lock_wait_s": 0,
                                      "stop": stop, "say": lines.append,
                                      "retry_lock_s": 0.05})
    thread.start()
    deadline = time.monotonic() + 10
    while not lines and time.monotonic() < deadline:  # until it says it is waiting
        time.sleep(0.01)
    polls_while_held = poller.polls
    first.release()
    thread.join(timeout=60)
    # Then it waited (saying so), polled only after the release, and released on stop
    assert polls_while_held == 0 and poller.polls == 1
    assert lines[0].startswith("another poller holds the lock") and lines[0].endswith("waiting")
    assert "took the poller lock" in lines
    assert redis_client.get(KEY) is None


def test_once_polls_and_releases_the_lock(redis_client):
    # Given a free lock
    poller, lines = CountingPoller(), []
    # When a poller runs once
    status = run_poller(poller, PollerLock(redis_client, KEY), once=True, interval_s=30,
                        lock_wait_s=0, stop=threading.Event(), say=lines.append)
    # Then it polls once, reports, exits 0 and leaves the lock free
    assert (status, poller.polls) == (0, 1)
    assert lines == ["poll: nothing read"]
    assert redis_client.get(KEY) is None
