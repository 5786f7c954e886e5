#!/usr/bin/env python3
"""Validate Anthropic Messages SSE event JSON (one per line) against the official `anthropic` SDK types.

Usage: validate_anthropic_events.py FILE

Each non-empty line of FILE is the JSON of one SSE `data:` field. Lines whose `type` is one of
the `RawMessageStreamEvent` members are validated with pydantic over those members,
discriminated by `type` (docs/compatibility.md section 1.4), so errors name the right event class.
`ping` must be exactly {"type": "ping"}; `error` is validated as the SDK's `ErrorResponse`
(neither is in the union: the SDK handles them by SSE event name). Any other `type` fails.

Exit status: 0 all valid, 1 a line is invalid, 2 usage error, 3 the SDK cannot be imported.
"""

import json
import sys
import typing


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: validate_anthropic_events.py FILE", file=sys.stderr)
        return 2
    try:
        from typing import Annotated, Union

        import anthropic
        from anthropic.types import ErrorResponse, RawMessageStreamEvent
        from pydantic import Field, TypeAdapter, ValidationError
    except ImportError as err:  # pragma: no cover - environment problem
        print(f"cannot import the anthropic SDK / pydantic: {err}", file=sys.stderr)
        return 3

    members = typing.get_args(typing.get_args(RawMessageStreamEvent)[0])
    adapter = TypeAdapter(Annotated[Union[members], Field(discriminator="type")])
    error_adapter = TypeAdapter(ErrorResponse)

    with open(sys.argv[1], encoding="utf-8") as handle:
        lines = [line for line in handle.read().split("\n") if line.strip()]

    for number, line in enumerate(lines, start=1):
        try:
            event = json.loads(line)
        except json.JSONDecodeError as err:
            print(f"line {number}: not JSON: {err}\n{line}")
            return 1
        kind = event.get("type") if isinstance(event, dict) else None
        try:
            if kind == "ping":
                if event != {"type": "ping"}:
                    print(f"line {number}: unexpected ping payload\n{line}")
                    return 1
            elif kind == "error":
                error_adapter.validate_python({"request_id": None, **event})
            else:
                adapter.validate_python(event)
        except ValidationError as err:
            print(f"line {number}: {kind} is invalid:\n{err}\n{line}")
            return 1

    print(f"ok: {len(lines)} events valid against anthropic {anthropic.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
