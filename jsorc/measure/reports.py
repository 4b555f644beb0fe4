"""Measurement reports and tracksys samples in SQL (the tables are in `jsorc.db`).

save/fetch/list pairs over MeasureReportRow and SystemSampleRow; each report's body is
JSON. Not here: what a report holds (each measurement builds its own).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jsorc.db import Database, MeasureReportRow, SystemSampleRow
from jsorc.errors import BadRequest

KINDS = ("trackact", "benchmark", "tracksys", "loadtest")
# Reports listed at most per request.
LIST_LIMIT = 200


def utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def epoch(value: dt.datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


def save_report(
    db: Database,
    kind: str,
    data: dict[str, Any],
    *,
    name: str = "",
    status: str = "done",
    started: float,
    stopped: float | None = None,
) -> int:
    row = MeasureReportRow(
        kind=kind, name=name, status=status, started=utc(started),
        stopped=None if stopped is None else utc(stopped), data=data,
    )  # fmt: skip
    with Session(db.engine) as session, session.begin():
        session.add(row)
        session.flush()
        return row.id


def update_report(
    db: Database,
    report_id: int,
    *,
    data: dict[str, Any] | None = None,
    status: str | None = None,
    stopped: float | None = None,
) -> None:
    with Session(db.engine) as session, session.begin():
        row = session.get(MeasureReportRow, report_id)
        if row is None:
            raise BadRequest(f"no report {report_id}")
        if data is not None:
            row.data = data
        if status is not None:
            row.status = status
        if stopped is not None:
            row.stopped = utc(stopped)


def fetch_report(db: Database, report_id: int, *, kind: str | None = None) -> dict[str, Any]:
    with Session(db.engine) as session:
        row = session.get(MeasureReportRow, report_id)
        if row is None or (kind is not None and row.kind != kind):
            what = f"{kind} report" if kind else "report"
            raise BadRequest(f"no {what} {report_id}; list them with `jsorc reports list`")
        return {**_describe(row), "data": row.data}


def latest_report(db: Database, kind: str) -> dict[str, Any] | None:
    query = select(MeasureReportRow).where(MeasureReportRow.kind == kind)
    with Session(db.engine) as session:
        row = session.scalars(query.order_by(MeasureReportRow.id.desc()).limit(1)).first()
        return None if row is None else {**_describe(row), "data": row.data}


def list_reports(db: Database, kind: str | None = None) -> list[dict[str, Any]]:
    """Reports newest first, without their bodies."""
    if kind is not None and kind not in KINDS:
        raise BadRequest(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    query = select(MeasureReportRow).order_by(MeasureReportRow.id.desc()).limit(LIST_LIMIT)
    if kind is not None:
        query = query.where(MeasureReportRow.kind == kind)
    with Session(db.engine) as session:
        return [_describe(row) for row in session.scalars(query)]


def add_system_sample(db: Database, session_id: str, data: dict[str, Any], *, at: float) -> None:
    with Session(db.engine) as session, session.begin():
        session.add(SystemSampleRow(session=session_id, at=utc(at), data=data))


def system_samples(db: Database, session_id: str) -> list[dict[str, Any]]:
    query = (
        select(SystemSampleRow)
        .where(SystemSampleRow.session == session_id)
        .order_by(SystemSampleRow.id)
    )
    with Session(db.engine) as session:
        return [row.data for row in session.scalars(query)]


def _describe(row: MeasureReportRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "name": row.name,
        "status": row.status,
        "started": epoch(row.started),
        "stopped": None if row.stopped is None else epoch(row.stopped),
    }
