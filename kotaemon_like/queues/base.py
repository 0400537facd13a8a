"""The job queue contract and the retry policy both backends share."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from typing import ContextManager, Protocol, runtime_checkable


@dataclass(frozen=True)
class Job:
    """Bring `source` in line with the folder. Jobs carry no content, so repeating one is harmless."""

    source: str
    action: str = "index"  # "index" (file created/changed) or "delete"
    event_time: float = 0.0  # wall clock of the file event, for the freshness metric
    attempts: int = 0
    not_before: float = 0.0  # wall clock before which a retry should not run
    error: str = ""

    def to_fields(self) -> dict[str, str]:
        return {"job": json.dumps(asdict(self), ensure_ascii=False)}

    @classmethod
    def from_fields(cls, fields: dict) -> "Job":
        raw = fields.get("job") or fields.get(b"job")
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class Delivery:
    id: str
    job: Job


def next_attempt(job: Job, error: str, max_attempts: int, backoff_s: float) -> Job | None:
    """The retry of a failed job with exponential backoff, or None when it has used its attempts."""
    attempts = job.attempts + 1
    if attempts >= max_attempts:
        return None
    return replace(job, attempts=attempts, error=error, not_before=time.time() + backoff_s * 2 ** (attempts - 1))


class QueueUnavailable(Exception):
    """The queue's backing service cannot be reached right now."""


@runtime_checkable
class JobQueue(Protocol):
    def publish(self, job: Job) -> str: ...

    def receive(self, consumer: str, count: int = 1, block_s: float = 1.0) -> list[Delivery]:
        """New jobs, or jobs of a dead consumer idle longer than the claim timeout."""

    def ack(self, delivery: Delivery) -> None:
        """The job is done and its results committed."""

    def fail(self, delivery: Delivery, error: str) -> bool:
        """Retry later (True) or, out of attempts, move to the dead letters (False)."""

    def touch(self, delivery: Delivery, consumer: str) -> None:
        """Still working on it: keep other consumers from reclaiming it."""

    def depth(self) -> int: ...

    def pending(self) -> int: ...

    def dead_letters(self, count: int = 100) -> list[Job]: ...

    def lock(self, name: str) -> ContextManager:
        """A lock shared by every consumer of this queue (per source, or for store writes)."""

    def incarnation(self) -> str:
        """A token that changes whenever queued jobs may have been lost (e.g. Redis restarted without its data)."""

    def ping(self) -> bool: ...

    def close(self) -> None: ...
