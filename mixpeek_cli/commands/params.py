"""Coerce our simple flag values without importing pydantic: the cost of every command run.

typer (0.2x) coerces each parameter's value through a pydantic ``TypeAdapter``, and
importing pydantic for it costs ~70 ms, more than typer itself, on every command, even
``COMMAND --help``. Our parameters are all plain: ``str``, ``bool``, ``int`` (ranges
included), ``float``, ``Path`` and lists of ``str``. For those, :func:`prime` gives typer
a coercer of this module before it parses, with the same results and the same
``BadParameter`` errors; any other annotation is left to typer.

This leans on typer's internal ``RuntimeParam`` seam: when that is missing (another typer
version) nothing is primed and typer does everything itself, only slower.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def _runtime_base() -> type[Any] | None:
    try:
        from typer._coercion import RuntimeParam
    except ImportError:
        return None
    return RuntimeParam


def _kind(annotation: Any) -> str | None:
    if annotation in (str, bool, int, float):
        return str(annotation.__name__)
    if annotation is Path:
        return "path"
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        return "str-list"
    return None


@functools.cache
def _plain_class() -> type[Any] | None:
    """Our RuntimeParam class, made once; None when typer's seam is absent."""
    base = _runtime_base()
    if base is None:
        return None

    @dataclass(frozen=True)
    class PlainRuntimeParam(base):  # type: ignore[misc, valid-type]
        """typer's coercion for a plain annotation, without a TypeAdapter."""

        kind: str = "str"

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            return _coerce(self.kind, value, self.parameter_info, param, ctx)

    return PlainRuntimeParam


def _build(kind: str, descriptor: Any) -> Any:
    """A typer RuntimeParam of ours for ``kind``, or None when typer's seam is absent."""
    cls = _plain_class()
    if cls is None:
        return None
    return cls(
        parameter_info=descriptor.parameter_info, annotation=descriptor.annotation, kind=kind
    )


def _coerce(kind: str, value: Any, info: Any, param: Any, ctx: Any) -> Any:
    from typer._click.exceptions import BadParameter

    def bad(message: str) -> Exception:
        return BadParameter(message, ctx=ctx, param=param)

    if kind == "str-list":
        items = value if isinstance(value, (list, tuple)) else [value]
        return [str(item) for item in items]
    if kind == "str":
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE or text == "":
            return False
        raise bad("Input should be a valid boolean, unable to interpret input")
    if kind == "path":
        from typer._param_types import coerce_cli_path

        # A Path in, typer's own checks (exists, dir_okay...) out: no adapter needed.
        path = value if isinstance(value, Path) else Path(str(value))
        return coerce_cli_path(path, info, path_type=Path, param=param, ctx=ctx)
    number = _number(kind, value, bad)
    low, high = info.min, info.max
    if info.clamp:
        if low is not None and number < low:
            return type(number)(low)
        if high is not None and number > high:
            return type(number)(high)
        return number
    if low is not None and number < low:
        raise bad(f"Input should be greater than or equal to {low}")
    if high is not None and number > high:
        raise bad(f"Input should be less than or equal to {high}")
    return number


def _number(kind: str, value: Any, bad: Any) -> int | float:
    if isinstance(value, bool):
        raise bad(f"Input should be a valid {'integer' if kind == 'int' else 'number'}")
    if kind == "int":
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad(
                "Input should be a valid integer, unable to parse string as an integer"
            ) from None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise bad("Input should be a valid number, unable to parse string as a number") from None


def _params_of(command: Any) -> list[Any]:
    """The command's parameters, with the --help option click makes (and keeps) for it."""
    params = list(getattr(command, "params", ()))
    try:
        from typer._click.core import Context

        help_option = command.get_help_option(Context(command))
    except (ImportError, AttributeError, TypeError):
        help_option = None
    if help_option is not None:
        params.append(help_option)
    return params


def prime(command: Any) -> None:
    """Give every plain parameter of ``command`` (and of its subcommands) our coercer."""
    for param in _params_of(command):
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or descriptor.file_annotation is not None:
            continue
        if getattr(param, "_runtime_param", "absent") is not None:
            continue  # already built, or not typer's parameter class
        if descriptor.parameter_info.parser is not None:
            continue
        kind = _kind(descriptor.annotation)
        if kind is None or (kind == "path" and descriptor.parameter_info.path_type):
            continue
        runtime = _build(kind, descriptor)
        if runtime is not None:
            with contextlib.suppress(AttributeError):
                param._runtime_param = runtime
    for sub in getattr(command, "commands", {}).values():
        prime(sub)
