#!/usr/bin/env python3
"""Drive codexia's OpenAI API with the official `openai` Python SDK.

Usage: openai_sdk_client.py BASE_URL chat|responses

BASE_URL is codexia's address with `/v1`. The Rust test queues the fake backend's replies in the
order the group consumes them:

chat:
  1. text "Hello from codexia"                 chat.completions.create (non-streaming)
  2. text "Streaming works"                     create(stream=True, include_usage) on raw SSE,
                                                every chunk validated as ChatCompletionChunk
  3. call get_weather {"city":"Paris"}          create with tools (non-streaming) ...
  4. text "Sunny in Paris"                      ... and the round trip with the tool result
  5. text "Helper text"                         chat.completions.stream helper
  6. call get_weather {"city":"Oslo"}           chat.completions.stream helper with a strict tool
  7. text "partial" then response.failed        create(stream=True) must raise openai.APIError
  then models.list (no reply).

responses:
  1. reasoning + text "Hello from responses"    responses.create(stream=True) on raw SSE, every
                                                event validated with pydantic (see below)
  2. text "Backfilled" with an empty completed output
                                                responses.stream(...).get_final_response()
  3. call get_weather {"city":"Rome"}           responses.stream with a tool, raw events validated
  4. text "First answer"                        responses.create (non-streaming) ...
  5. text "Second answer"                       ... continued with previous_response_id
  6. text "partial" then response.failed        raw stream ends with a valid response.failed

Raw Responses events are validated with pydantic over the members of ResponseStreamEvent,
discriminated by `type` (docs/compatibility.md section 1.4); the `event:` name must equal `type`.
Prints one line per step; exits non-zero (with the reason) on the first failure.
"""

import json
import sys
import typing
from typing import Annotated, Union

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import Field, TypeAdapter

MEMBERS = typing.get_args(typing.get_args(ResponseStreamEvent)[0])
EVENT = TypeAdapter(Annotated[Union[MEMBERS], Field(discriminator="type")])
MODEL = "gpt-5.5"
CHAT_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
STRICT_CHAT_TOOL = {"type": "function", "function": {**CHAT_TOOL["function"], "strict": True}}
RESPONSES_TOOL = {"type": "function", **CHAT_TOOL["function"], "strict": True}


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def raw_chat_stream(client, **params):
    """The validated chunks of one streaming chat request (the SDK's own transport)."""
    chunks = []
    done = False
    with client.chat.completions.with_streaming_response.create(stream=True, **params) as response:
        for line in response.iter_lines():
            check(not line.startswith("event:"), f"chat chunks are data-only, got {line!r}")
            if not line.startswith("data:"):
                continue
            data = line[len("data:"):].strip()
            check(not done, "a chunk after [DONE]")
            if data == "[DONE]":
                done = True
                continue
            chunks.append(ChatCompletionChunk.model_validate_json(data))
    check(done, "no [DONE]")
    return chunks


def raw_responses_stream(client, **params):
    """The validated events (as dicts) of one streaming Responses request."""
    events = []
    with client.responses.with_streaming_response.create(stream=True, **params) as response:
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[len("event:"):].strip()
            elif line.startswith("data:"):
                data = json.loads(line[len("data:"):].strip())
                check(name == data.get("type"), f"event name {name!r} != type {data.get('type')!r}")
                EVENT.validate_python(data)
                events.append(data)
                name = None
    numbers = [e["sequence_number"] for e in events]
    check(numbers == sorted(numbers) and len(set(numbers)) == len(numbers), f"sequence numbers {numbers}")
    return events


def chat(client):
    answer = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}],
        temperature=0.2,
        max_tokens=100,
    )
    completion = ChatCompletion.model_validate(answer.http_response.json())
    check(completion.choices[0].message.content == "Hello from codexia", f"content {completion}")
    check(completion.choices[0].finish_reason == "stop", f"finish {completion.choices[0].finish_reason}")
    check(completion.usage is not None and completion.usage.total_tokens > 0, f"usage {completion.usage}")
    check(completion.model == MODEL and completion.id.startswith("chatcmpl-"), f"id/model {completion}")
    print("chat.completions.create (non-streaming): ok")

    chunks = raw_chat_stream(
        client,
        model=MODEL,
        messages=[{"role": "user", "content": "Stream please"}],
        stream_options={"include_usage": True},
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    check(text == "Streaming works", f"streamed text {text!r}")
    check(chunks[0].choices[0].delta.role == "assistant", "first chunk has no role")
    check(all(c.usage is None for c in chunks[:-1]), "usage before the last chunk")
    check(chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0, f"last chunk {chunks[-1]}")
    check(len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1, "ids/created differ")
    print(f"chat.completions.create(stream=True, include_usage): {len(chunks)} chunks valid against openai {openai.__version__}")

    messages = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=[CHAT_TOOL])
    call = first.choices[0].message.tool_calls[0]
    check(first.choices[0].finish_reason == "tool_calls", f"finish {first.choices[0].finish_reason}")
    check(call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}, f"call {call}")
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 24 C"})
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=[CHAT_TOOL])
    check(second.choices[0].message.content == "Sunny in Paris", f"second {second}")
    print("tool-call round trip: ok")

    with client.chat.completions.stream(model=MODEL, messages=[{"role": "user", "content": "Helper?"}]) as stream:
        deltas = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    check("".join(deltas) == "Helper text", f"helper deltas {deltas}")
    check(final.choices[0].message.content == "Helper text", f"helper final {final}")
    print("chat.completions.stream helper: ok")

    with client.chat.completions.stream(
        model=MODEL, messages=[{"role": "user", "content": "Weather in Oslo?"}], tools=[STRICT_CHAT_TOOL]
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    check(len(calls) == 1 and calls[0].function.parsed_arguments == {"city": "Oslo"}, f"helper tool calls {calls}")
    check(final.choices[0].finish_reason == "tool_calls", f"helper finish {final.choices[0].finish_reason}")
    print("chat.completions.stream helper with a tool call: ok")

    try:
        for _ in client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "fail"}], stream=True):
            pass
    except openai.APIError as err:
        print(f"mid-stream failure raises openai.APIError: {err.message}")
    else:
        raise AssertionError("a mid-stream failure did not raise openai.APIError")

    ids = [model.id for model in client.models.list()]
    check("gpt-5.5" in ids and "codex-auto-review" not in ids, f"models {ids}")
    print(f"models.list: {ids}")


def responses(client):
    events = raw_responses_stream(client, model=MODEL, input="Say hello", instructions="Be brief.", reasoning={"effort": "low", "summary": "auto"})
    types = [e["type"] for e in events]
    check(types[0] == "response.created" and types[-1] == "response.completed", f"types {types}")
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    check(text == "Hello from responses", f"text {text!r}")
    check(events[-1]["response"]["model"] == MODEL, "model not echoed")
    print(f"responses.create(stream=True): {len(events)} raw events valid against openai {openai.__version__}")

    with client.responses.stream(model=MODEL, input="Backfill?") as stream:
        for event in stream:
            EVENT.validate_python(event.to_dict())
        final = stream.get_final_response()
    check(final.output_text == "Backfilled", f"final output {final.output}")
    check(final.status == "completed" and final.usage is not None, f"final {final}")
    print("responses.stream(...).get_final_response(): ok")

    events = raw_responses_stream(client, model=MODEL, input="Weather in Rome?", tools=[RESPONSES_TOOL])
    calls = [e["item"] for e in events if e["type"] == "response.output_item.done" and e["item"]["type"] == "function_call"]
    check(len(calls) == 1 and json.loads(calls[0]["arguments"]) == {"city": "Rome"}, f"calls {calls}")
    completed = events[-1]["response"]
    check(any(item["type"] == "function_call" for item in completed["output"]), "call missing from completed output")
    print("responses stream with a function call: raw events valid")

    raw = client.responses.with_raw_response.create(model=MODEL, input="First question", store=True)
    first = Response.model_validate(raw.http_response.json())
    check(first.output_text == "First answer" and first.status == "completed", f"first {first}")
    second = client.responses.create(model=MODEL, input="Second question", previous_response_id=first.id)
    check(second.output_text == "Second answer", f"second {second.output_text!r}")
    print("responses.create + previous_response_id: ok")

    events = raw_responses_stream(client, model=MODEL, input="fail")
    check(events[-1]["type"] == "response.failed", f"last event {events[-1]['type']}")
    print("a mid-stream failure ends with a valid response.failed")


def main() -> int:
    base_url, group = sys.argv[1], sys.argv[2]
    client = openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0)
    {"chat": chat, "responses": responses}[group](client)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as err:  # report any failure as one line for the Rust test
        import traceback

        traceback.print_exc()
        print(f"FAILED: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)
