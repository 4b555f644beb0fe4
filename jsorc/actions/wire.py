"""The Jaseci action wire protocol: turning a Python call into a JSON body and back.

A body maps parameter names to values; extra positional values go under the varargs
name (`"*args": [...]`), extra keywords under the keyword-varargs name
(`"**kwargs": {...}`); an empty varargs entry is left out. Both sides share this module
so they cannot drift apart.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Sequence
from typing import Any

from jsorc.errors import BadRequest


def encode_call(params: Sequence[str], args: Sequence[Any], kwargs: dict[str, Any]) -> dict:
    """The JSON body for calling a function whose spec lists `params`."""
    named = [p for p in params if not p.startswith("*")]
    star = next((p for p in params if p.startswith("*") and not p.startswith("**")), None)
    star_star = next((p for p in params if p.startswith("**")), None)
    positional_names = named if star is None else named[: params.index(star)]

    body: dict[str, Any] = {}
    if len(args) > len(positional_names) and star is None:
        raise BadRequest(
            f"takes at most {len(positional_names)} positional argument(s), {len(args)} given"
        )
    body.update(zip(positional_names, args, strict=False))
    extra = list(args[len(positional_names) :])
    if extra:
        body[star] = extra
    spilled: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in body:
            raise BadRequest(f"got multiple values for argument {key!r}")
        if key in named:
            body[key] = value
        elif star_star is not None:
            spilled[key] = value
        else:
            raise BadRequest(f"got an unexpected keyword argument {key!r}")
    if spilled:
        body[star_star] = spilled
    return body


def decode_call(func: Callable[..., Any], body: Any) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for `func` from a request body."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object of named parameters")
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    remaining = dict(body)
    positional_gap = False
    for param in inspect.signature(func).parameters.values():
        kind = param.kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            extra = remaining.pop(f"*{param.name}", [])
            if not isinstance(extra, list):
                raise BadRequest(f"'*{param.name}' must be a JSON array")
            if extra and positional_gap:
                raise BadRequest(f"'*{param.name}' given but an earlier parameter is missing")
            args.extend(extra)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            extra = remaining.pop(f"**{param.name}", {})
            if not isinstance(extra, dict):
                raise BadRequest(f"'**{param.name}' must be a JSON object")
            kwargs.update(extra)
        elif param.name in remaining:
            value = remaining.pop(param.name)
            if kind is inspect.Parameter.KEYWORD_ONLY or positional_gap:
                kwargs[param.name] = value
            else:
                args.append(value)
        elif param.default is inspect.Parameter.empty:
            raise BadRequest(f"missing required parameter {param.name!r}")
        else:
            positional_gap = True
    if remaining:
        raise BadRequest(f"unexpected parameter(s) {sorted(remaining)}")
    return args, kwargs


def dumps(value: Any) -> bytes:
    """JSON bytes for a result; numpy arrays and scalars become lists and numbers."""
    return json.dumps(value, default=_plain, separators=(",", ":")).encode()


def _plain(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"result of type {type(value).__name__} is not JSON serialisable")
