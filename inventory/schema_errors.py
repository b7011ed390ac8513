"""Turning pydantic's validation errors into inventory problems a person can act on."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from .problems import Loc, Problem
from .source import SourceFile

_TYPE_NAMES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    type(None): "nothing (null)",
}


def schema_problems(source: SourceFile, model: type[BaseModel], err: ValidationError) -> list[Problem]:
    problems: dict[Loc, Problem] = {}
    for error in err.errors(include_url=False):
        loc = _data_loc(source, tuple(error["loc"]), error["type"])
        if loc in problems:  # one problem per place: the members of a union each report the same value
            continue
        problems[loc] = source.problem(loc, _rule(source, model, loc, error))
    return list(problems.values())


def _data_loc(source: SourceFile, loc: Loc, kind: str) -> Loc:
    """Cut pydantic's location at the value it is about: drop union-member and validator tags."""
    out: list[str | int] = []
    for part in loc:
        parent = source.value_at(tuple(out))
        exists = (isinstance(parent, dict) and part in parent) or (
            isinstance(parent, list) and isinstance(part, int) and 0 <= part < len(parent)
        )
        if not exists:
            if kind in ("missing", "extra_forbidden") and isinstance(parent, dict) and len(out) == len(loc) - 1:
                out.append(part)
            break
        out.append(part)
    return tuple(out)


def _rule(source: SourceFile, model: type[BaseModel], loc: Loc, error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = sorted(_allowed_keys(model, loc[:-1]))
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (allowed: {', '.join(allowed)})"
        return f"unknown key '{key}'{hint}"
    if kind == "missing":
        return "required, but missing"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    value = source.value_at(loc)
    if kind.endswith("_type") or kind in ("model_type", "dict_type", "list_type", "union_tag_invalid"):
        return f"{message}; got {_describe(value)}"
    if kind in ("enum", "literal_error"):
        return f"{message}; got {value!r}"
    if kind in ("string_pattern_mismatch",):
        return f"{value!r} is not a valid id: use lower-case romaji, digits and single hyphens (e.g. 'higashichichibu')"
    return message


def _describe(value: Any) -> str:
    return (
        f"{_TYPE_NAMES.get(type(value), type(value).__name__)} ({value!r})"
        if not isinstance(value, dict | list)
        else _TYPE_NAMES[type(value)]
    )


def _allowed_keys(model: type[BaseModel], loc: Loc) -> set[str]:
    """The keys the model accepts at `loc` (walking fields, list items and mapping values)."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return set()
    current = _model_in(current)
    if current is None:
        return set()
    return {f.alias or name for name, f in current.model_fields.items()}


def _step(annotation: Any, part: str | int) -> Any:
    model = _model_in(annotation)
    if model is not None and isinstance(part, str):
        for name, f in model.model_fields.items():
            if part in (name, f.alias):
                return f.annotation
        return None
    for inner in _unwrap(annotation):
        origin = typing.get_origin(inner)
        if origin is list and isinstance(part, int):
            return typing.get_args(inner)[0]
        if origin is dict:
            return typing.get_args(inner)[1]
    return None


def _unwrap(annotation: Any) -> Iterator[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _unwrap(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _unwrap(arg)
    else:
        yield annotation


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for inner in _unwrap(annotation):
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return None
