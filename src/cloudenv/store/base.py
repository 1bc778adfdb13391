"""The declarative base and the column types every table shares."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import JSON, DateTime, Integer, MetaData, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


StrE = TypeVar("StrE", bound=StrEnum)
IntE = TypeVar("IntE", bound=IntEnum)


class StrEnumColumn(TypeDecorator[StrE], Generic[StrE]):
    """A ``StrEnum`` stored as its value in a VARCHAR: the schema is that of a plain string
    column, rows read back as members, and a value outside the enum is refused on write
    (ValueError) instead of being stored."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrE], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: StrE | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrE | None:
        return None if value is None else self.enum(value)


class IntEnumColumn(TypeDecorator[IntE], Generic[IntE]):
    """An ``IntEnum`` stored as its integer (the product's wire value): as
    ``StrEnumColumn``, for the integer enumerations."""

    impl = Integer
    cache_ok = True

    def __init__(self, enum: type[IntE]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: IntE | int | None, dialect: Dialect) -> int | None:
        return None if value is None else int(self.enum(value))

    def process_result_value(self, value: int | None, dialect: Dialect) -> IntE | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[dict[str, Any]]: JSON,
        list[str]: JSON,
        list[int]: JSON,
        list[Any]: JSON,
    }
