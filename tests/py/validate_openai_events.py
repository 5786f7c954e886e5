#!/usr/bin/env python3
"""Validate Responses SSE event JSON (one per line) against the official `openai` SDK types.

Usage: validate_openai_events.py FILE

Each non-empty line of FILE is the JSON of one SSE `data:` field. Every line is validated with
pydantic over the members of `openai.types.responses.ResponseStreamEvent`, discriminated by
`type` (docs/compatibility.md section 1.4), so errors point at the right event class and unknown
`type`s fail with `union_tag_invalid`. Extra fields are allowed, as in the SDK.

One documented allowance: the SDK's `ResponseError.code` is a closed list that lacks codes the
Codex backend really sends in `response.failed` (docs/protocol.md section 6.2:
`context_length_exceeded`, `insufficient_quota`, ...). For exactly those codes the check is run
with `code` replaced by `server_error`, and a note is printed on stderr. Any other code fails.

Exit status: 0 all valid, 1 a line is invalid (the pydantic error is printed), 2 usage error,
3 the openai/pydantic packages cannot be imported.
"""

import json
import sys
import typing

# Backend codes seen in `response.failed` that the SDK's ResponseError.code literal does not list.
BACKEND_ONLY_FAILED_CODES = {
    "context_length_exceeded",
    "insufficient_quota",
    "usage_not_included",
    "usage_limit_reached",
    "server_is_overloaded",
    "invalid_encrypted_content",
}


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: validate_openai_events.py FILE", file=sys.stderr)
        return 2
    try:
        from typing import Annotated, Union

        import openai
        from openai.types.responses import ResponseStreamEvent
        from pydantic import Field, TypeAdapter, ValidationError
    except ImportError as err:  # pragma: no cover - environment problem
        print(f"cannot import the openai SDK / pydantic: {err}", file=sys.stderr)
        return 3

    members = typing.get_args(typing.get_args(ResponseStreamEvent)[0])
    adapter = TypeAdapter(Annotated[Union[members], Field(discriminator="type")])

    with open(sys.argv[1], encoding="utf-8") as handle:
        lines = [line for line in handle.read().split("\n") if line.strip()]

    for number, line in enumerate(lines, start=1):
        try:
            event = json.loads(line)
        except json.JSONDecodeError as err:
            print(f"line {number}: not JSON: {err}\n{line}")
            return 1
        checked = event
        if (
            isinstance(event, dict)
            and event.get("type") == "response.failed"
            and isinstance(event.get("response"), dict)
            and isinstance(event["response"].get("error"), dict)
            and event["response"]["error"].get("code") in BACKEND_ONLY_FAILED_CODES
        ):
            code = event["response"]["error"]["code"]
            checked = json.loads(line)
            checked["response"]["error"]["code"] = "server_error"
            print(f"note: line {number}: backend-only response.failed code {code!r} accepted", file=sys.stderr)
        try:
            adapter.validate_python(checked)
        except ValidationError as err:
            print(f"line {number}: {event.get('type') if isinstance(event, dict) else '?'} is invalid:\n{err}\n{line}")
            return 1

    print(f"ok: {len(lines)} events valid against openai {openai.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
