#!/usr/bin/env python3
"""Drive codexia's Anthropic Messages API with the official `anthropic` Python SDK.

Usage: anthropic_sdk_client.py BASE_URL

The Rust test queues the fake backend's replies in this order:
  1. reasoning + text "Hello from codexia"      (raw SSE, every event validated)
  2. a `lookup` function call {"q": "weather"}   (raw SSE, every event validated)
  3. reasoning + text "Hello from codexia"      (messages.stream + get_final_message)
  4. reasoning + text + `lookup` call            (non-streaming messages.create)
then count_tokens (which must not reach the backend), then a request the gateway refuses.

Raw events are read through the SDK's own transport (`with_streaming_response`) and each `data:`
line is validated with pydantic over the `RawMessageStreamEvent` members, discriminated by
`type` (docs/compatibility.md section 1.4); the `event:` name must equal `type`.
Prints one line per step; exits non-zero (with the reason) on the first failure.
"""

import json
import sys
import typing
from typing import Annotated, Union

import anthropic
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import Field, TypeAdapter

MEMBERS = typing.get_args(typing.get_args(RawMessageStreamEvent)[0])
EVENT = TypeAdapter(Annotated[Union[MEMBERS], Field(discriminator="type")])
TOOLS = [
    {
        "name": "lookup",
        "description": "Look something up",
        "input_schema": {
            "type": "object",
            "properties": {"q": {"type": "string"}},
            "required": ["q"],
        },
    }
]
THINKING = {"type": "enabled", "budget_tokens": 2048}


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def raw_stream(client, **params):
    """Returns the validated events of one streaming request."""
    events = []
    with client.messages.with_streaming_response.create(stream=True, **params) as response:
        check(response.http_response.headers.get("request-id", "").startswith("req_"), "no request-id header")
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[len("event:"):].strip()
            elif line.startswith("data:"):
                data = json.loads(line[len("data:"):].strip())
                check(name == data.get("type"), f"event name {name!r} != type {data.get('type')!r}")
                if data["type"] != "ping":
                    check(data["type"] != "error", f"error event: {data}")
                    EVENT.validate_python(data)
                    events.append(data)
                name = None
    types = [e["type"] for e in events]
    check(types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"], f"bad grammar {types}")
    return events


def main() -> int:
    base_url = sys.argv[1]
    client = anthropic.Anthropic(base_url=base_url, api_key="test-key", max_retries=0)
    common = {"model": "claude-sonnet-4-5", "max_tokens": 1024}

    events = raw_stream(client, messages=[{"role": "user", "content": "Say hello"}], thinking=THINKING, **common)
    blocks = [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"]
    check(blocks == ["thinking", "text"], f"blocks {blocks}")
    print(f"raw stream (thinking + text): {len(events)} events valid against anthropic {anthropic.__version__}")

    events = raw_stream(client, messages=[{"role": "user", "content": "Weather?"}], tools=TOOLS, **common)
    partial = "".join(e["delta"]["partial_json"] for e in events if e["type"] == "content_block_delta")
    check(json.loads(partial) == {"q": "weather"}, f"tool input {partial!r}")
    check(events[-2]["delta"]["stop_reason"] == "tool_use", "stop_reason is not tool_use")
    print(f"raw stream (tool_use): {len(events)} events valid")

    with client.messages.stream(messages=[{"role": "user", "content": "Say hello"}], thinking=THINKING, **common) as stream:
        for _ in stream:
            pass
        final = stream.get_final_message()
    check(final.content[-1].type == "text" and final.content[-1].text == "Hello from codexia", f"final {final}")
    check(final.content[0].type == "thinking" and final.content[0].signature.startswith("cdx1:"), f"thinking {final.content[0]}")
    check(final.stop_reason == "end_turn" and final.usage.output_tokens > 0, f"stop/usage {final}")
    check(final.model == "claude-sonnet-4-5", f"model echo {final.model}")
    print("messages.stream + get_final_message: ok")

    raw = client.messages.with_raw_response.create(
        messages=[{"role": "user", "content": "Weather?"}], tools=TOOLS, thinking=THINKING, **common
    )
    check(raw.http_response.headers.get("request-id", "").startswith("req_"), "no request-id header")
    message = Message.model_validate(raw.http_response.json())
    kinds = [block.type for block in message.content]
    check(kinds == ["thinking", "text", "tool_use"], f"content {kinds}")
    check(message.content[2].input == {"q": "weather"}, f"tool input {message.content[2]}")
    check(message.stop_reason == "tool_use", f"stop_reason {message.stop_reason}")
    print("messages.create (non-streaming): ok")

    count = client.messages.count_tokens(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Hello there, how are you?"}], tools=TOOLS
    )
    check(count.input_tokens > 10, f"count {count}")
    print(f"count_tokens: {count.input_tokens}")

    # A refused request (no model field) surfaces as the SDK's own error, with its request id.
    try:
        client.messages.create(max_tokens=16, messages=[{"role": "user", "content": "x"}], model="")
        check(False, "an empty model was accepted")
    except anthropic.APIStatusError as err:
        check(err.status_code in (400, 404), f"status {err.status_code}")
        check(isinstance(err.request_id, str) and err.request_id.startswith("req_"), f"request_id {err.request_id!r}")
        check(err.body["request_id"] == err.request_id, f"body {err.body}")
        print(f"error {err.status_code} with request id: ok")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as err:  # report any failure as one line for the Rust test
        print(f"FAILED: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)
