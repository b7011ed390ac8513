"""The business systems (業務システム) of the shared package, as the seed lists them (systems.yaml)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import InventoryModel, NonEmptyText, Slug


class SystemClass(StrEnum):
    """The seed's four classes, written in the YAML with the seed's own marks."""

    REQUIRED = "◎"  # every town takes it
    OPTION = "○"  # a town may take it, but never another vendor's system instead
    VENDOR_OPTION = "△"  # a town may take it, or use another vendor's system
    OUT_OF_SCOPE = "×"  # not part of the shared cloud

    @property
    def label(self) -> str:
        return {
            "◎": "required",
            "○": "option",
            "△": "vendor option",
            "×": "out of scope",
        }[self.value]


ParameterValue = int | str | bool


class ParameterSpec(InventoryModel):
    """One tenant parameter (パラメタ・制御情報) the package lets a town set for a system."""

    type: Literal["int", "str", "bool", "choice"]
    description: NonEmptyText
    choices: list[str] | None = None
    min: int | None = None
    max: int | None = None
    default: ParameterValue

    @model_validator(mode="after")
    def _consistent(self) -> ParameterSpec:
        if self.type == "choice" and not self.choices:
            raise ValueError("a 'choice' parameter needs a non-empty 'choices' list")
        if self.type != "choice" and self.choices is not None:
            raise ValueError("'choices' is only allowed on a 'choice' parameter")
        if (self.min is not None or self.max is not None) and self.type != "int":
            raise ValueError("'min' and 'max' are only allowed on an 'int' parameter")
        problem = self.check(self.default)
        if problem:
            raise ValueError(f"default: {problem}")
        return self

    def check(self, value: object) -> str | None:
        """Return why `value` is not acceptable for this parameter, or None if it is."""
        if self.type == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                return f"must be an integer, got {value!r}"
            if self.min is not None and value < self.min:
                return f"must be at least {self.min}, got {value}"
            if self.max is not None and value > self.max:
                return f"must be at most {self.max}, got {value}"
        elif self.type == "bool":
            if not isinstance(value, bool):
                return f"must be true or false, got {value!r}"
        elif self.type == "str":
            if not isinstance(value, str):
                return f"must be a string, got {value!r}"
        elif value not in (self.choices or []):
            return f"must be one of {', '.join(self.choices or [])}, got {value!r}"
        return None


class BusinessSystem(InventoryModel):
    number: Annotated[int, Field(ge=1)]
    id: Slug
    name: NonEmptyText  # Japanese, as the seed writes it
    name_en: NonEmptyText
    system_class: SystemClass = Field(alias="class", strict=False)
    tier: Slug
    service_hours: Slug | None = None  # overrides the tier's calendar (e.g. convenience-store payment)
    parameters: dict[str, ParameterSpec] = {}

    @property
    def label(self) -> str:
        return f"{self.number:02d} {self.name}"


class SystemsFile(InventoryModel):
    systems: list[BusinessSystem]
