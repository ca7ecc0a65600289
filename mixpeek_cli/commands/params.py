"""Coerce our simple flag values without importing pydantic: the cost of every command run.

typer 0.29 coerces each parameter's value through a pydantic ``TypeAdapter``, and
importing pydantic for it costs ~70 ms, more than typer itself, on every command, even
``COMMAND --help``. Our parameters are all plain: ``str``, ``bool``, ``int`` (ranges
included), ``float``, ``Path`` and lists of ``str``. For those, :func:`prime` gives typer
a coercer of this module before it parses, with the same results and the same
``BadParameter`` errors; any other annotation is left to typer.

typer offers no public way to do this, so it is the one place that touches a typer
internal: the ``RuntimeParam`` class of :data:`SEAM_MODULE` and the ``type_descriptor`` /
``_runtime_param`` attributes of typer's parameters. Every use is feature-detected: where
the seam is missing or shaped otherwise (typer before 0.29, which has no pydantic to avoid,
or a later release that changes it) nothing is primed and typer does everything itself,
the same, only slower. Everything else here uses typer's public API only.
tests/test_typer_seam.py runs the CLI both ways.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import os
import stat
from pathlib import Path
from typing import Any, get_args, get_origin

import typer

# The typer module holding the seam; tests point it at a module that cannot be imported,
# to run the CLI as it runs on a typer without it.
SEAM_MODULE = "typer._coercion"

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def _runtime_base() -> type[Any] | None:
    """typer's RuntimeParam class when it has the shape this module relies on, else None."""
    try:
        base = getattr(importlib.import_module(SEAM_MODULE), "RuntimeParam", None)
    except ImportError:
        return None
    if not isinstance(base, type) or not dataclasses.is_dataclass(base):
        return None
    fields = {field.name for field in dataclasses.fields(base)}
    # Our subclass fills exactly these fields and overrides the one abstract method.
    if fields != {"parameter_info", "annotation"} or not hasattr(base, "_coerce_value"):
        return None
    return base


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

    @dataclasses.dataclass(frozen=True)
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
    def bad(message: str) -> Exception:
        return typer.BadParameter(message, ctx=ctx, param=param)

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
        return _path(value if isinstance(value, Path) else Path(str(value)), info, bad)
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


def _path(path: Path, info: Any, bad: Any) -> Path:
    """typer's checks of a ``Path`` parameter (exists, file_okay, ...), same messages."""
    checked = Path(os.path.realpath(path)) if info.resolve_path else path
    try:
        st = os.stat(checked)
    except OSError:
        if not info.exists:
            return checked
        raise bad(f"{_path_label(info)} {typer.format_filename(path)!r} does not exist.") from None
    where = f"{_path_label(info)} {typer.format_filename(path)!r}"
    if not info.file_okay and stat.S_ISREG(st.st_mode):
        raise bad(f"{where} is a file.")
    if not info.dir_okay and stat.S_ISDIR(st.st_mode):
        raise bad(f"{where} is a directory.")
    if info.readable and not os.access(checked, os.R_OK):
        raise bad(f"{where} is not readable.")
    if info.writable and not os.access(checked, os.W_OK):
        raise bad(f"{where} is not writable.")
    return checked


def _path_label(info: Any) -> str:
    if info.file_okay and not info.dir_okay:
        return "file"
    if info.dir_okay and not info.file_okay:
        return "dir"
    return "path"


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
        help_option = command.get_help_option(typer.Context(command))
    except (AttributeError, TypeError):
        help_option = None
    if help_option is not None:
        params.append(help_option)
    return params


def prime(command: Any) -> None:
    """Give every plain parameter of ``command`` (and of its subcommands) our coercer."""
    if _plain_class() is None:
        return  # no seam in this typer: it coerces every value itself
    for param in _params_of(command):
        with contextlib.suppress(AttributeError):
            _prime_one(param)
    for sub in getattr(command, "commands", {}).values():
        prime(sub)


def _prime_one(param: Any) -> None:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or descriptor.file_annotation is not None:
        return
    if getattr(param, "_runtime_param", "absent") is not None:
        return  # already built, or not typer's parameter class
    info = descriptor.parameter_info
    if info.parser is not None:
        return
    kind = _kind(descriptor.annotation)
    if kind is None or (kind == "path" and (info.path_type or info.allow_dash)):
        return
    runtime = _build(kind, descriptor)
    if runtime is not None:
        param._runtime_param = runtime
