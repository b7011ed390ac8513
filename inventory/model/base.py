"""Building blocks shared by every inventory model.

Models are strict: a YAML value of the wrong type is an error, not silently coerced, and unknown
keys are rejected (so a misspelt key never makes a setting quietly fall back to its default).
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints


class InventoryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


# An id is a romaji slug: stable, ASCII, usable in hostnames, file names and Pulumi stack names.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=40)]
# Host and router names: RFC 1123 labels, lower case.
Hostname = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=40)]
NonEmptyText = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]

_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def _parse_time_of_day(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # Only reachable with a YAML 1.1 loader (sexagesimal 17:15 == 1035); ours reads 17:15 as a
        # string, but a model may also be fed from JSON or code.
        raise ValueError("a time of day must be written as 'HH:MM' in quotes, not as a number")
    if not isinstance(value, str) or not _TIME.match(value):
        raise ValueError(f"a time of day must be 'HH:MM' (00:00 to 24:00), got {value!r}")
    hours, minutes = (int(part) for part in value.split(":"))
    if hours == 24:
        if minutes:
            raise ValueError(f"a time of day must be 'HH:MM' (00:00 to 24:00), got {value!r}")
        return time.max  # 24:00, the end of the day
    return time(hours, minutes)


TimeOfDay = Annotated[time, BeforeValidator(_parse_time_of_day)]


def _check_asn(value: int) -> int:
    if not 1 <= value <= 4_294_967_294 or value in (23456, 65535):
        raise ValueError(f"{value} is not a usable AS number")
    return value


Asn = Annotated[int, AfterValidator(_check_asn)]
Vlan = Annotated[int, AfterValidator(lambda v: v if 1 <= v <= 4094 else _bad_vlan(v))]


def _bad_vlan(value: int) -> int:
    raise ValueError(f"VLAN id must be 1 to 4094, got {value}")
