"""Administrative regions: province → city → county, keyed by the 6-digit code."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, enum_type


class RegionLevel(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    short_name: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[RegionLevel] = mapped_column(enum_type(RegionLevel))
    kind: Mapped[str] = mapped_column(String(16))  # 地级市, 市辖区, 县级市, 县 …
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    city_code: Mapped[str | None] = mapped_column(String(6))  # own code for a city, parent's for a county
