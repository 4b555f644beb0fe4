"""Durable records in SQL (SQLAlchemy): action configs, placement history, settings,
measurement reports.

SQLite by default, PostgreSQL in production. Redis holds the live copies; what is here
is what survives a Redis restart. Tables are created on first use.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, create_engine, event, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class ActionConfigRow(Base):
    __tablename__ = "jsorc_action_configs"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PlacementEventRow(Base):
    __tablename__ = "jsorc_placement_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(200), index=True)
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PlacementRow(Base):
    """The placement a user asked for; Redis holds its live state."""

    __tablename__ = "jsorc_placements"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    mode: Mapped[str] = mapped_column(String(20))
    updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ServiceEventRow(Base):
    """A kept-alive service changing state (RUNNING, FAILED, ...), with why."""

    __tablename__ = "jsorc_service_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class MeasureReportRow(Base):
    """A measurement kept for later: a trackact window, a benchmark, a tracksys session
    or a load test (`jsorc.measure.reports` reads and writes these)."""

    __tablename__ = "jsorc_measure_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="done")
    started: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    stopped: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SystemSampleRow(Base):
    """One tracksys sample: CPU, memory and network per action server and node."""

    __tablename__ = "jsorc_system_samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SettingRow(Base):
    __tablename__ = "jsorc_settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        Base.metadata.create_all(self.engine)

    def save_config(self, name: str, config: dict[str, Any]) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(ActionConfigRow, name)
            if row is None:
                session.add(ActionConfigRow(name=name, config=config))
            else:
                row.config = config
                row.updated = _now()

    def fetch_configs(self) -> dict[str, dict[str, Any]]:
        with Session(self.engine) as session:
            return {row.name: row.config for row in session.scalars(select(ActionConfigRow))}

    def save_placement(self, name: str, mode: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.merge(PlacementRow(name=name, mode=mode, updated=_now()))

    def delete_placement(self, name: str) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(PlacementRow, name)
            if row is not None:
                session.delete(row)

    def fetch_placements(self) -> dict[str, str]:
        """Action name -> the mode a user placed it in."""
        with Session(self.engine) as session:
            return {row.name: row.mode for row in session.scalars(select(PlacementRow))}

    def record_placement(self, action: str, mode: str, status: str, reason: str = "") -> None:
        with Session(self.engine) as session, session.begin():
            session.add(PlacementEventRow(action=action, mode=mode, status=status, reason=reason))

    def placement_history(self, action: str | None = None) -> list[dict[str, Any]]:
        query = select(PlacementEventRow).order_by(PlacementEventRow.id)
        if action is not None:
            query = query.where(PlacementEventRow.action == action)
        with Session(self.engine) as session:
            return [
                {
                    "action": r.action,
                    "mode": r.mode,
                    "status": r.status,
                    "reason": r.reason,
                    "at": r.at.isoformat(),
                }
                for r in session.scalars(query)
            ]

    def record_service(self, service: str, state: str, detail: str = "") -> None:
        with Session(self.engine) as session, session.begin():
            session.add(ServiceEventRow(service=service, state=state, detail=detail))

    def service_history(self, service: str) -> list[dict[str, Any]]:
        query = (
            select(ServiceEventRow)
            .where(ServiceEventRow.service == service)
            .order_by(ServiceEventRow.id)
        )
        with Session(self.engine) as session:
            return [
                {"state": r.state, "detail": r.detail, "at": r.at.isoformat()}
                for r in session.scalars(query)
            ]

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def save_settings(self, values: dict[str, Any]) -> None:
        with Session(self.engine) as session, session.begin():
            for key, value in values.items():
                session.merge(SettingRow(key=key, value=json.dumps(value)))

    def fetch_settings(self) -> dict[str, Any]:
        with Session(self.engine) as session:
            return {row.key: json.loads(row.value) for row in session.scalars(select(SettingRow))}

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _wal(dbapi_connection: Any, _record: Any) -> None:
        # Several processes write: WAL lets readers go on while one writes.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return engine
