"""Handling units: 12345 platforms, county offices and departments at each level."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, enum_type
from ticketing.models.region import RegionLevel


class UnitKind(enum.StrEnum):
    PLATFORM = "platform"  # 12345 platform of the province or a city
    OFFICE = "office"  # county-level 12345 handling office
    DEPARTMENT = "department"


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)  # e.g. "dept:320100:water"
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[UnitKind] = mapped_column(enum_type(UnitKind))
    level: Mapped[RegionLevel] = mapped_column(enum_type(RegionLevel))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    dept_type: Mapped[str | None] = mapped_column(String(32), index=True)
    # Who renamed it on /admin; None: the name derived from the directory, which `hotline seed` keeps
    # up to date. A renamed unit keeps its name through every later seed.
    renamed_by: Mapped[str | None] = mapped_column(String(64))
