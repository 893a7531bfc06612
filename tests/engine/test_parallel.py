"""Splitting engine work over threads: groups are contiguous, complete and respect boundaries."""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from visualconv.engine import parallel


@given(count=st.integers(0, 50), groups=st.integers(1, 6))
def test_split_cuts_into_contiguous_nonempty_runs(count, groups):
    parts = list(range(count))
    runs = parallel.split(parts, groups)
    assert [item for run in runs for item in run] == parts
    assert all(len(run) > 0 for run in runs)
    assert len(runs) <= groups
    if count >= groups:
        assert len(runs) == groups
        assert max(map(len, runs)) - min(map(len, runs)) <= 1


@given(examples=st.lists(st.integers(1, 4), min_size=1, max_size=12), groups=st.integers(1, 4))
def test_split_only_cuts_where_allowed(examples, groups):
    # blocks tagged by the example they belong to; a cut may only fall between examples
    blocks = [n for n, rows in enumerate(examples) for _ in range(rows)]
    runs = parallel.split(blocks, groups, lambda i: blocks[i] != blocks[i - 1])
    assert [b for run in runs for b in run] == blocks
    for left, right in itertools.pairwise(runs):
        assert left[-1] != right[0]


def test_map_groups_keeps_order_and_runs_nested_calls_serially(monkeypatch):
    monkeypatch.setattr(parallel, "_threads", 3)
    seen_threads = set()

    def inner(group):
        return sum(group)

    def outer(group):
        seen_threads.add(threading.get_ident())
        # a nested call from a worker must not wait on the pool it runs in
        assert parallel.map_groups(inner, list(group)) == [sum(group)]
        return list(group)

    runs = parallel.map_groups(outer, list(range(10)))
    assert len(runs) == 3
    assert [item for run in runs for item in run] == list(range(10))
    assert len(seen_threads) >= 2


def test_map_groups_passes_errors_on(monkeypatch):
    monkeypatch.setattr(parallel, "_threads", 2)

    def work(group):
        if 5 in group:
            raise ValueError("bad block")
        return group

    with pytest.raises(ValueError, match="bad block"):
        parallel.map_groups(work, list(range(8)))


def test_set_threads_refuses_zero():
    with pytest.raises(ValueError, match="threads"):
        parallel.set_threads(0)


def test_callers_on_two_threads_at_once_both_get_their_results(monkeypatch):
    monkeypatch.setattr(parallel, "_threads", 2)
    barrier = threading.Barrier(2)
    results = {}

    def caller(name, offset):
        barrier.wait()
        for _ in range(200):
            runs = parallel.map_groups(lambda group: [v + offset for v in group], list(range(6)))
            assert [v for run in runs for v in run] == [v + offset for v in range(6)]
        results[name] = True

    threads = [
        threading.Thread(target=caller, args=(name, offset)) for name, offset in (("a", 0), ("b", 100))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {"a": True, "b": True}
