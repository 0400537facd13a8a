"""Both queue backends, one behaviour: deliver, ack, retry with backoff, dead-letter, reclaim from a dead consumer."""

from __future__ import annotations

import time

import pytest

from kotaemon_like.queues.base import Job, QueueUnavailable
from kotaemon_like.queues.memory import InProcessQueue
from kotaemon_like.queues.redis_stream import RedisStreamQueue


@pytest.fixture(params=["memory", "redis"])
def queue(request):
    if request.param == "memory":
        q = InProcessQueue(InProcessQueue.Params(max_attempts=3, backoff_s=0.05, claim_idle_s=0.5))
    else:
        server = request.getfixturevalue("redis_server")
        q = RedisStreamQueue(RedisStreamQueue.Params(url=server.url, max_attempts=3, backoff_s=0.05, claim_idle_s=0.5))
    yield q
    q.close()


def test_deliver_and_ack(queue):
    queue.publish(Job("a.pdf", "index", event_time=time.time()))
    queue.publish(Job("b.pdf", "delete"))
    assert queue.depth() == 2
    first = queue.receive("w1", block_s=0.5)
    assert [d.job.source for d in first] == ["a.pdf"] and first[0].job.action == "index"
    assert queue.pending() == 1 and queue.depth() == 1
    queue.ack(first[0])
    assert queue.pending() == 0
    second = queue.receive("w1", block_s=0.5)
    assert second[0].job == Job("b.pdf", "delete")
    queue.ack(second[0])
    assert queue.receive("w1", block_s=0.2) == []


def test_retry_then_dead_letter(queue):
    queue.publish(Job("bad.pdf"))
    attempts = []
    for _ in range(3):
        (delivery,) = queue.receive("w1", block_s=1)
        attempts.append(delivery.job.attempts)
        retried = queue.fail(delivery, "not a readable PDF")
    assert attempts == [0, 1, 2]
    assert retried is False
    dead = queue.dead_letters()
    assert [(j.source, j.error) for j in dead] == [("bad.pdf", "not a readable PDF")]
    assert queue.pending() == 0 and queue.depth() == 0


def test_retry_carries_a_backoff(queue):
    queue.publish(Job("slow.pdf"))
    (delivery,) = queue.receive("w1", block_s=1)
    before = time.time()
    queue.fail(delivery, "busy")
    (retry,) = queue.receive("w1", block_s=1)
    assert retry.job.attempts == 1 and retry.job.error == "busy"
    assert retry.job.not_before >= before + 0.04


def test_a_dead_consumers_job_is_reclaimed(queue):
    queue.publish(Job("orphan.pdf"))
    (taken,) = queue.receive("dead-worker", block_s=1)
    assert queue.receive("live-worker", block_s=0.1) == []  # not idle long enough yet
    time.sleep(0.6)
    (reclaimed,) = queue.receive("live-worker", block_s=1)
    assert reclaimed.id == taken.id and reclaimed.job.source == "orphan.pdf"
    queue.ack(reclaimed)
    assert queue.pending() == 0


def test_touch_keeps_a_live_job_from_being_reclaimed(queue):
    queue.publish(Job("big.pdf"))
    (taken,) = queue.receive("busy-worker", block_s=1)
    for _ in range(3):
        time.sleep(0.3)
        queue.touch(taken, "busy-worker")
    assert queue.receive("other-worker", block_s=0.1) == []


def test_locks_exclude_each_other(queue):
    import threading

    inside, overlaps = [], []

    def hold():
        with queue.lock("source:x"):
            overlaps.append(len(inside))
            inside.append(1)
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [0, 0, 0, 0]


def test_redis_down_is_one_clear_error_without_the_password(redis_server):
    q = RedisStreamQueue(RedisStreamQueue.Params(url=redis_server.url))
    redis_server.stop()
    with pytest.raises(QueueUnavailable, match=f"Redis at {redis_server.url} is unreachable"):
        q.publish(Job("a.pdf"))
    secret = RedisStreamQueue(RedisStreamQueue.Params(url=f"redis://:hunter2pass@127.0.0.1:{redis_server.port}/0"))
    with pytest.raises(QueueUnavailable) as caught:
        secret.publish(Job("a.pdf"))
    assert "hunter2pass" not in str(caught.value)
    assert f"redis://:***@127.0.0.1:{redis_server.port}/0 is unreachable" in str(caught.value)
    assert q.ping() is False
    redis_server.start()
    q.publish(Job("a.pdf"))
    assert q.ping() is True


def test_group_lost_in_a_restart_is_made_again(redis_server):
    """Publish, receive, restart a Redis without persistence, ack: no NOGROUP, and the queue carries on."""
    q = RedisStreamQueue(RedisStreamQueue.Params(url=redis_server.url, claim_idle_s=0.5))
    before = q.incarnation()
    q.publish(Job("a.pdf"))
    (delivery,) = q.receive("w1", block_s=1)
    redis_server.stop()
    redis_server.start()
    q.ack(delivery)  # the job died with the server; acking it is harmless
    assert q.depth() == 0 and q.pending() == 0
    q.touch(delivery, "w1")
    assert q.incarnation() != before  # the watcher reconciles the folder on this change
    q.publish(Job("b.pdf"))
    (again,) = q.receive("w1", block_s=1)
    assert again.job.source == "b.pdf"
    redis_server.stop()
    redis_server.start()
    assert q.fail(again, "boom") is True  # the retry is queued in the remade stream
    (retry,) = q.receive("w1", block_s=1)
    assert retry.job.source == "b.pdf" and retry.job.attempts == 1
    assert q.receive("w1", block_s=0.2) == []


def test_incarnation_is_stable_while_nothing_is_lost(queue):
    first = queue.incarnation()
    queue.publish(Job("a.pdf"))
    queue.ack(queue.receive("w1", block_s=1)[0])
    assert queue.incarnation() == first
