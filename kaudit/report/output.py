"""Where rendered text goes: stdout or a file, chosen by `--format FMT[=PATH]` and `--output`.

Renderers return strings; this is the one place that writes them.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from kaudit.errors import InputError

# Other names accepted for a format.
FORMAT_ALIASES: Mapping[str, str] = MappingProxyType({"markdown": "md"})


def canonical_format(name: str) -> str:
    """The format's own name for `name` (lower-cased, aliases resolved)."""
    name = name.strip().lower()
    return FORMAT_ALIASES.get(name, name)


@dataclass(frozen=True)
class Output:
    format: str
    path: str | None  # None: stdout


def parse_outputs(
    specs: list[str] | None, output: str | None, allowed: tuple[str, ...], default: str
) -> list[Output]:
    """`--format FMT` or `--format FMT=PATH`, repeatable; `--output` names the path of a lone format."""
    outputs = []
    for spec in specs or [default]:
        name, _, path = spec.partition("=")
        name = canonical_format(name)
        if name not in allowed:
            raise InputError(
                f"--format: unknown format {name!r} (expected one of: {', '.join(allowed)})"
            )
        outputs.append(Output(name, path or None))
    pathless = [o for o in outputs if o.path is None]
    if output is not None:
        if len(pathless) != 1:
            raise InputError(
                "--output: give exactly one --format without '=PATH' to write to --output"
            )
        outputs = [Output(o.format, output) if o.path is None else o for o in outputs]
    elif len(pathless) > 1:
        raise InputError("--format: only one format can go to stdout; give the others '=PATH'")
    return outputs


def write_output(out: Output, text: str, what: str = "report") -> None:
    """Write to stdout (no path, or '-') or to a file, creating its folder."""
    if out.path is None or out.path == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    path = Path(out.path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{out.path}: cannot write {what}: {exc.strerror or exc}") from None
