from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from tests.conftest import make_settings
from triage.errors import Conflict
from triage.store.sql import NewAssignment, SqlStore
from triage.store.tables import AssignmentRow
from triage.types import NewComment, RunUsage


@pytest.fixture
def sql(tmp_path: Path) -> SqlStore:
    """SQLite in tmp_path, or a fresh Postgres database on the postgres back-end."""
    return SqlStore(make_settings(tmp_path).db_url)


def _comment(text: str, content_hash: str) -> NewComment:
    return NewComment(
        content_hash=content_hash,
        text=text,
        text_hash="h" + content_hash,
        provider="IT",
        respondent_dept=None,
        cycle="2026-Q1",
        rating=3,
        submitted_at=None,
        respondent_hash=None,
    )


def test_dataset_by_name_is_reused_and_duplicates_are_not_stored(sql: SqlStore) -> None:
    first = sql.get_or_create_dataset("survey", owner_key_id=1)
    assert sql.get_or_create_dataset("survey", owner_key_id=2) == first
    assert sql.add_comments(first, [_comment("a", "1"), _comment("b", "2"), _comment("a", "1")]) == (2, 1)
    assert sql.add_comments(first, [_comment("a", "1"), _comment("c", "3")]) == (1, 1)
    assert [c.text for c in sql.comments(first)] == ["a", "b", "c"]
    info = sql.dataset(first)
    assert info is not None and info.comments == 3 and info.owner_key_id == 1


def test_keys_are_hashed_verified_and_revocable(sql: SqlStore) -> None:
    key = sql.create_key("hr", "alice")
    assert key.startswith("trg_")
    stored = sql.engine.connect().exec_driver_sql("select key_hash from api_keys").scalar()
    assert stored and key not in stored
    caller = sql.verify_key(key)
    assert caller is not None and caller.role == "hr"
    assert sql.verify_key(key + "x") is None
    assert sql.revoke_key(key[:12])
    assert sql.verify_key(key) is None


def test_unfinished_runs_are_failed_on_restart(sql: SqlStore) -> None:
    dataset = sql.get_or_create_dataset("d", None)
    queued = sql.create_run(dataset, None)
    done = sql.create_run(dataset, None)
    sql.finish_run(done, {"x": 1}, [], RunUsage(summarizer="offline"))
    assert sql.fail_unfinished_runs("restart") == 1
    run = sql.run(queued)
    assert run is not None and run.status == "failed" and run.error == "restart"
    finished = sql.run(done)
    assert finished is not None and finished.status == "succeeded"
    assert sql.latest_succeeded_run() == done


def test_a_run_succeeds_once_and_stays_succeeded(sql: SqlStore) -> None:
    """Two workers finishing one run (a re-queued job): the second is refused and stores nothing."""
    dataset = sql.get_or_create_dataset("once", owner_key_id=None)
    sql.add_comments(dataset, [_comment("Slow laptop", "c1"), _comment("Slow VPN", "c2")])
    comment_ids = [c.id for c in sql.comments(dataset)]
    run = sql.create_run(dataset, owner_key_id=None)
    first = [NewAssignment(comment_id=i, kind="theme", label="it", confidence=0.9, rank=0) for i in comment_ids]
    sql.finish_run(run, {"by": "first"}, first, RunUsage(summarizer="offline"))
    with pytest.raises(Conflict):
        sql.finish_run(run, {"by": "second"}, first, RunUsage(summarizer="offline"))
    sql.update_run(run, status="running", progress=0.1, stage="embedding")  # the late worker's progress
    status = sql.run(run)
    assert status is not None and (status.status, status.progress, status.stage) == ("succeeded", 1.0, "done")
    assert sql.run_report(run) == {"by": "first"}
    assert [sql.comment_labels(i) for i in comment_ids] == [["it"], ["it"]]


def _stored_assignments(sql: SqlStore, run_id: str) -> list[tuple[int, str, str, float, int]]:
    with sql.engine.connect() as connection:
        query = select(AssignmentRow).where(AssignmentRow.run_id == run_id).order_by(AssignmentRow.id)
        rows = connection.execute(query)
        return [(r.comment_id, r.kind, r.label, round(r.confidence, 6), r.rank) for r in rows]


def test_finish_run_bulk_stores_every_assignment_in_order_without_orm_objects(sql: SqlStore) -> None:
    dataset = sql.get_or_create_dataset("bulk", owner_key_id=None)
    sql.add_comments(dataset, [_comment(f"comment {i}", f"c{i}") for i in range(50)])
    comment_ids = [c.id for c in sql.comments(dataset)]
    assignments = [
        NewAssignment(comment_id=i, kind=kind, label=f"{kind}-{n}", confidence=n / 100, rank=n % 3)
        for n in range(60)
        for i in comment_ids
        for kind in ("theme", "subject")
    ]
    built: list[object] = []

    def on_init(target: object, *_: object) -> None:
        built.append(target)

    run = sql.create_run(dataset, owner_key_id=None)
    event.listen(AssignmentRow, "init", on_init)
    try:
        sql.finish_run(run, {"n": len(assignments)}, assignments, RunUsage(summarizer="offline"))
    finally:
        event.remove(AssignmentRow, "init", on_init)
    assert built == []  # one executemany, not 6,000 ORM objects
    assert _stored_assignments(sql, run) == [(a.comment_id, a.kind, a.label, a.confidence, a.rank) for a in assignments]
    status = sql.run(run)
    assert status is not None and (status.status, status.progress, status.stage) == ("succeeded", 1.0, "done")


def test_a_finish_that_fails_stores_nothing_and_the_run_can_still_succeed(sql: SqlStore) -> None:
    """The conditional update and the bulk insert are one transaction: a failed insert un-marks the run."""
    dataset = sql.get_or_create_dataset("atomic", owner_key_id=None)
    sql.add_comments(dataset, [_comment("Slow laptop", "c1")])
    (comment_id,) = [c.id for c in sql.comments(dataset)]
    run = sql.create_run(dataset, owner_key_id=None)
    good = NewAssignment(comment_id=comment_id, kind="theme", label="it", confidence=0.9, rank=0)
    orphan = NewAssignment(comment_id=comment_id + 10_000, kind="theme", label="it", confidence=0.9, rank=0)
    with pytest.raises(IntegrityError):
        sql.finish_run(run, {"by": "first"}, [good, orphan], RunUsage(summarizer="offline"))
    status = sql.run(run)
    assert status is not None and status.status == "queued" and sql.run_report(run) is None
    assert _stored_assignments(sql, run) == []
    sql.finish_run(run, {"by": "retry"}, [good], RunUsage(summarizer="offline"))
    assert sql.run_report(run) == {"by": "retry"}
    assert _stored_assignments(sql, run) == [(comment_id, "theme", "it", 0.9, 0)]
