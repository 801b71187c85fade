"""MicroBatcher: concurrent calls merged into batches, results and errors back to their callers."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from triage.microbatch import MicroBatcher

pytestmark = pytest.mark.store_free


def _slow_square(calls: list[list[int]]) -> MicroBatcher[int, int]:
    def square(items: list[int]) -> list[int]:
        calls.append(list(items))
        time.sleep(0.02)  # long enough for concurrent callers to queue behind the running batch
        if -1 in items:
            raise ValueError("bad item")
        return [i * i for i in items]

    return MicroBatcher(square, max_batch=16, name="test-batcher")


def test_a_lone_call_is_served_at_once() -> None:
    calls: list[list[int]] = []
    batcher = _slow_square(calls)
    try:
        assert batcher([3, 4]) == [9, 16]
        assert batcher([]) == []
        assert calls == [[3, 4]] and batcher.batches == 1
    finally:
        batcher.close()


def test_concurrent_calls_share_batches_in_order_and_respect_the_limit() -> None:
    calls: list[list[int]] = []
    batcher = _slow_square(calls)
    start = threading.Barrier(40)

    def one(i: int) -> list[int]:
        start.wait()
        return batcher([i, i + 100])

    try:
        with ThreadPoolExecutor(max_workers=40) as pool:
            results = list(pool.map(one, range(40)))
    finally:
        batcher.close()
    assert results == [[i * i, (i + 100) ** 2] for i in range(40)]
    assert batcher.batched_items == 80
    assert batcher.batches < 20, f"{batcher.batches} batches for 40 calls"
    assert max(len(c) for c in calls) <= 16


def test_an_error_reaches_every_caller_of_its_batch_and_the_worker_lives_on() -> None:
    calls: list[list[int]] = []
    batcher = _slow_square(calls)
    try:
        with pytest.raises(ValueError, match="bad item"):
            batcher([-1])
        assert batcher([5]) == [25]
    finally:
        batcher.close()


def test_a_function_returning_the_wrong_count_is_an_error() -> None:
    batcher: MicroBatcher[int, int] = MicroBatcher(lambda items: items[:-1], max_batch=4)
    try:
        with pytest.raises(RuntimeError, match="1 results for 2 items"):
            batcher([1, 2])
    finally:
        batcher.close()


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(lambda items: items, max_batch=0)
