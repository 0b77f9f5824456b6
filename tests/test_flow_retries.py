"""Retries of the ingest flow's tasks: transient I/O is retried with backoff, the rest fails at once."""

from __future__ import annotations

import pytest
from prefect.states import Failed

from flows.ingest import ingest, transient_io
from hingeflow import schemas
from hingeflow.settings import Settings
from hingeflow.warehouse import Warehouse


@pytest.mark.parametrize("exc, retried", [
    (ConnectionResetError("peer reset"), True), (TimeoutError("read timed out"), True), (OSError(5, "EIO"), True),
    (FileNotFoundError("inbox gone"), False), (PermissionError("read-only"), False), (ValueError("bug"), False),
])
def test_only_transient_io_errors_are_retried(exc, retried):
    assert transient_io(None, None, Failed(data=exc)) is retried


@pytest.fixture(scope="module")
def one_clip_inbox(tmp_path_factory):
    from hingeflow.synth.clip import ClipSpec, render_clip

    up = tmp_path_factory.mktemp("retry") / "inbox" / "gym_2026-11-16"
    up.mkdir(parents=True)
    render_clip(up / "rdl.mp4", ClipSpec())
    (up / "manifest.csv").write_text("video,athlete_id,recorded_on,exercise,load_kg,set_index\n"
                                     "rdl.mp4,ath-1,2026-11-16,romanian_deadlift,60,1\n")
    return up.parent


def _flaky_publish(monkeypatch, error: Exception) -> list[str]:
    """Make the first `Warehouse.publish` raise `error`; returns the run ids it was called with."""
    calls: list[str] = []
    real = Warehouse.publish

    def publish(self, run_id):
        calls.append(run_id)
        if len(calls) == 1:
            raise error
        return real(self, run_id)

    monkeypatch.setattr(Warehouse, "publish", publish)
    return calls


def test_a_dropped_connection_while_publishing_is_retried_and_the_run_commits(one_clip_inbox, tmp_path, monkeypatch):
    calls = _flaky_publish(monkeypatch, ConnectionResetError("the storage dropped the connection"))
    settings = Settings(workers=1)
    summary = ingest(str(one_clip_inbox), str(tmp_path / "wh"), settings)
    wh = Warehouse(tmp_path / "wh")
    assert len(calls) == 2 and calls[0] == calls[1] == summary.run_id  # the same run, committed on the retry
    assert wh.committed_runs() == {summary.run_id} and not wh.run_staging_dir.joinpath(summary.run_id).exists()
    assert summary.reps > 0 and wh.read(schemas.REPS).height == summary.reps
    assert wh.read(schemas.FRAMES).height == summary.frames


def test_a_permanent_error_fails_the_run_without_retrying(one_clip_inbox, tmp_path, monkeypatch):
    calls = _flaky_publish(monkeypatch, PermissionError("read-only warehouse"))
    settings = Settings(workers=1)
    with pytest.raises(PermissionError):
        ingest(str(one_clip_inbox), str(tmp_path / "wh"), settings)
    assert len(calls) == 1
