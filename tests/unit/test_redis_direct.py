"""``toky_ghl.redis_direct``: commands on connections of the client's kind, without
redis-py's per-command layers, keep execute_command's behaviour: replies, errors,
NOSCRIPT, reconnects and retries, no reply read by the wrong caller, fork safety."""

from __future__ import annotations

import os
import time

import fakeredis
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from toky_ghl.redis_direct import direct
from toky_ghl.redis_scripts import script


@pytest.fixture
def client(real_redis: redis.Redis, redis_url: str) -> redis.Redis:
    made = redis.Redis.from_url(redis_url)
    yield made
    made.close()


def test_a_command_answers_its_raw_reply_and_an_error_reply_raises(client: redis.Redis) -> None:
    # Given a client's Direct
    d = direct(client)

    # When commands run, Then each answers as Redis does (no reply callbacks)
    assert d.call("SET", "k", "v", "EX", 60) == b"OK"
    assert d.call("HSET", "h", "a", "1", "b", "2") == 2
    assert client.get("k") == b"v" and client.hgetall("h") == {b"a": b"1", b"b": b"2"}
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        d.call("HGET", "k", "f")
    assert d.call("ECHO", "next") == b"next"  # the connection is in step after the error


def test_a_batch_is_one_round_trip_and_raises_its_first_error_once_all_ran(
        client: redis.Redis) -> None:
    d = direct(client)
    # When a batch has an error in its middle
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        d.calls(("SET", "s", "1"), ("HSET", "s", "f", "v"), ("SET", "after", "2"))
    # Then the commands after it ran too (not a transaction, as redis-py's pipeline)
    assert client.get("after") == b"2"
    assert d.calls(("GET", "s"), ("GET", "after")) == [b"1", b"2"]


def test_a_script_unknown_to_redis_is_loaded_and_run(client: redis.Redis) -> None:
    # Given a script Redis forgot (a restart, SCRIPT FLUSH)
    source = "return {KEYS[1], ARGV[1]}"
    kept = script(client, source)
    assert direct(client).run(kept, ["k"], ["a"]) == [b"k", b"a"]
    client.script_flush()

    # When it runs, Then it is loaded again and answers
    assert direct(client).run(kept, ["k"], [7]) == [b"k", b"7"]
    assert client.script_exists(kept.sha) == [True]


def test_a_connection_closed_by_redis_while_idle_is_replaced(client: redis.Redis) -> None:
    # Given a Direct whose idle connection Redis closed (a restart, its idle timeout)
    d = direct(client)
    first = d.call("CLIENT", "ID")
    client.client_kill_filter(_id=first)

    # When a command is sent, Then it runs on a new connection (as the pool's checkout)
    assert d.call("SET", "k", "after-kill") == b"OK"
    assert client.get("k") == b"after-kill"
    assert d.call("CLIENT", "ID") != first


def test_a_reply_that_came_too_late_is_never_read_by_the_next_command(redis_url: str) -> None:
    # Given a client that waits 0.2 s for a reply and does not retry
    slow = redis.Redis.from_url(redis_url, socket_timeout=0.2, retry=Retry(NoBackoff(), 0))
    busy = script(slow, "local t = redis.call('TIME'); local until_us = t[1] * 1e6 + t[2] + 500000 "
                        "repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] >= until_us "
                        "return 'late'")
    d = direct(slow)
    # When a script answers after the timeout
    with pytest.raises(redis.TimeoutError):
        d.run(busy, [], [])
    time.sleep(0.6)  # (the late reply has arrived)
    # Then the next command reads its own reply, not the late one
    assert d.call("ECHO", "mine") == b"mine"
    slow.close()


def test_a_forked_process_makes_its_own_connections(client: redis.Redis) -> None:
    # Given a parent whose Direct holds a connection
    d = direct(client)
    parent_id = d.call("CLIENT", "ID")

    # When a forked child sends a command (it reports its connection's id through a pipe)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nothing but the command, then leave at once
        try:
            os.write(write_end, str(d.call("CLIENT", "ID")).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        child_id = answer.read()
    os.waitpid(pid, 0)

    # Then it used a connection of its own, and the parent's still answers in step
    assert child_id and int(child_id) != parent_id
    assert d.call("CLIENT", "ID") == parent_id
    assert d.call("ECHO", str(os.getpid())) == str(os.getpid()).encode()


def test_a_client_bound_to_one_connection_sends_through_it(client: redis.Redis,
                                                           redis_url: str) -> None:
    # Given a client bound to one connection
    single = redis.Redis.from_url(redis_url, single_connection_client=True)
    # Then Direct sends on that connection
    assert direct(single).call("CLIENT", "ID") == single.client_id()
    assert direct(single).calls(("SET", "k", "1"), ("GET", "k"))[1] == b"1"
    single.close()


def test_replies_are_decoded_as_the_client_decodes_them(redis_url: str) -> None:
    decoding = redis.Redis.from_url(redis_url, decode_responses=True)
    assert direct(decoding).calls(("SET", "k", "é"), ("GET", "k")) == ["OK", "é"]
    decoding.close()


def test_a_fake_redis_shares_its_server() -> None:
    # Given fakeredis (the unit tests' Redis)
    fake = fakeredis.FakeRedis()
    # Then Direct's writes are the client's reads
    direct(fake).call("HSET", "h", "f", "v")
    assert fake.hget("h", "f") == b"v"
