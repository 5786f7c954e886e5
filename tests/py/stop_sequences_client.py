#!/usr/bin/env python3
"""Stop sequences through codexia with the official `anthropic` and `openai` Python SDKs.

Usage: stop_sequences_client.py BASE_URL

The Rust test queues four replies from the fake backend, each streaming
"Thought: check the weather\\nObser" then "vation: sunny\\nFinal answer" (the stop sequence is
split across the two deltas) and then holding its remaining events behind a gate that never
opens, so each call can only finish if codexia ends the answer at the stop sequence itself:
  1. anthropic messages.stream (streaming)      stop_sequences=["Observation:"]
  2. anthropic messages.create (non-streaming)  stop_sequences=["Observation:"]
  3. openai chat.completions, stream=True       stop=["Observation:"]
  4. openai chat.completions (non-streaming)    stop="Observation:"
Prints one line per step; exits non-zero (with the reason) on the first failure.
"""

import sys

import anthropic
import openai

EXPECTED = "Thought: check the weather\n"
STOP = "Observation:"
PROMPT = [{"role": "user", "content": "What is the weather?"}]


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main() -> int:
    base_url = sys.argv[1]
    claude = anthropic.Anthropic(base_url=base_url, api_key="test-key", max_retries=0, timeout=60)
    common = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": PROMPT, "stop_sequences": [STOP]}

    with claude.messages.stream(**common) as stream:
        deltas = [event.delta.text for event in stream if event.type == "content_block_delta"]
        final = stream.get_final_message()
    check("".join(deltas) == EXPECTED, f"streamed text {deltas!r}")
    check(final.stop_reason == "stop_sequence" and final.stop_sequence == STOP, f"stream stop {final}")
    check(final.content[0].text == EXPECTED, f"final text {final.content!r}")
    print("anthropic stream: ok")

    message = claude.messages.create(**common)
    check(message.content[0].text == EXPECTED, f"text {message.content!r}")
    check(message.stop_reason == "stop_sequence" and message.stop_sequence == STOP, f"stop {message}")
    print("anthropic create: ok")

    gpt = openai.OpenAI(base_url=f"{base_url}/v1", api_key="test-key", max_retries=0, timeout=60)
    chunks = list(gpt.chat.completions.create(model="gpt-5.5", messages=PROMPT, stop=[STOP], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    check(text == EXPECTED, f"streamed text {text!r}")
    check(reasons == ["stop"], f"finish reasons {reasons}")
    print("openai stream: ok")

    completion = gpt.chat.completions.create(model="gpt-5.5", messages=PROMPT, stop=STOP)
    check(completion.choices[0].message.content == EXPECTED, f"content {completion.choices[0].message!r}")
    check(completion.choices[0].finish_reason == "stop", f"finish {completion.choices[0].finish_reason}")
    print("openai create: ok")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as err:  # report any failure as one line for the Rust test
        print(f"FAILED: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)
