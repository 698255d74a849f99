"""Turn a TOML table into typed, validated, frozen dataclasses — with errors that name the key.

Each config section is a dataclass. Field types drive the checks (bool, int, float, str,
``Literal[...]``, ``list[T]``, ``dict[str, T]``, nested dataclasses, ``X | None``); numeric limits
and choices come from field metadata::

    baud: int = field(default=57600, metadata={"choices": (9600, 19200, 57600, 115200)})
    poll_interval_s: float = field(default=0.5, metadata={"min": 0.001, "max": 60})

Unknown keys are errors (a typo must not silently fall back to a default). A dataclass may define
``validate(self, key)`` for checks across fields; it raises :class:`ConfigError`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, TypeVar, get_args, get_origin

from benchgui.errors import ConfigError

T = TypeVar("T")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _check_limits(value: Any, meta: typing.Mapping[str, Any], key: str) -> None:
    if "choices" in meta and value not in meta["choices"]:
        choices = ", ".join(repr(c) for c in meta["choices"])
        raise ConfigError(key, f"must be one of {choices}, got {value!r}")
    if "min" in meta and value < meta["min"]:
        raise ConfigError(key, f"must be >= {meta['min']}, got {value!r}")
    if "max" in meta and value > meta["max"]:
        raise ConfigError(key, f"must be <= {meta['max']}, got {value!r}")


def convert(tp: Any, value: Any, key: str, meta: typing.Mapping[str, Any] | None = None) -> Any:
    """Check ``value`` against type ``tp`` (recursively) and return it converted."""
    meta = meta or {}
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # X | None: errors from inside X keep their precise key
            return convert(options[0], value, key, meta)
        errors: list[ConfigError] = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return convert(arg, value, key, meta)
            except ConfigError as exc:
                errors.append(exc)
        raise ConfigError(key, "; ".join(e.problem for e in errors))
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise ConfigError(key, f"must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(key, f"must be a list, got {_describe(value)}")
        (item_tp, *_) = get_args(tp) or (Any,)
        items = [convert(item_tp, v, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(key, f"must be a table, got {_describe(value)}")
        _, val_tp = get_args(tp)
        return {str(k): convert(val_tp, v, _join(key, str(k))) for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(key, f"must be a table, got {_describe(value)}")
        return from_dict(tp, value, key)
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be an integer, got {_describe(value)}")
        _check_limits(value, meta, key)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"must be a number, got {_describe(value)}")
        value = float(value)
        if value != value:  # NaN
            raise ConfigError(key, "must be a number, got nan")
        _check_limits(value, meta, key)
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, got {_describe(value)}")
        _check_limits(value, meta, key)
        return value
    raise TypeError(f"config type {tp!r} at {key} is not supported")  # a bug in a schema, not input


def from_dict(cls: type[T], data: typing.Mapping[str, Any], prefix: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; every problem raises :class:`ConfigError`."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigError(_join(prefix, unknown[0]), f"unknown key (known keys: {known})")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = convert(hints[name], value, _join(prefix, name), fields[name].metadata)
    try:
        obj = cls(**kwargs)
    except TypeError as exc:  # a required key is missing
        raise ConfigError(prefix, f"incomplete table: {exc}") from None
    check = getattr(obj, "validate", None)
    if callable(check):
        check(prefix)
    return obj


def to_dict(obj: Any) -> Any:
    """The inverse of :func:`from_dict`, for writing a config back (None values are dropped)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in dataclasses.fields(obj):
            v = to_dict(getattr(obj, f.name))
            if v is not None:
                out[f.name] = v
        return out
    if isinstance(obj, list | tuple):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj
