// Drives codexia's OpenAI API with the official Node SDK's stream helpers, which check chunk
// order, finish reasons and truncation (docs/compatibility.md §1.4).
// Usage (cwd tests/node so the package resolves): node openai_stream.mjs BASE_URL   (BASE_URL ends in /v1)
// The Rust test queues: 1. text "Hello from node" (chat stream helper, include_usage);
// 2. a get_weather call {"city":"Paris"} (chat stream helper with a tool);
// 3. text "Responses from node" (responses.stream).
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "test-key", maxRetries: 0 });
const fail = (message) => {
  console.error(`FAILED: ${message}`);
  process.exit(1);
};

const chat = client.chat.completions.stream({
  model: "gpt-5.5",
  messages: [{ role: "user", content: "Say hello" }],
  stream_options: { include_usage: true },
});
let deltas = "";
chat.on("content", (delta) => {
  deltas += delta;
});
const first = await chat.finalChatCompletion();
if (first.choices[0].message.content !== "Hello from node") fail(`content ${JSON.stringify(first.choices[0])}`);
if (deltas !== "Hello from node") fail(`deltas ${deltas}`);
if (first.choices[0].finish_reason !== "stop") fail(`finish ${first.choices[0].finish_reason}`);
if (!first.usage || first.usage.total_tokens <= 0) fail(`usage ${JSON.stringify(first.usage)}`);
console.log("chat.completions.stream: ok");

const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];
const second = await client.chat.completions
  .stream({ model: "gpt-5.5", messages: [{ role: "user", content: "Weather?" }], tools })
  .finalChatCompletion();
const calls = second.choices[0].message.tool_calls ?? [];
if (calls.length !== 1 || calls[0].function.name !== "get_weather") fail(`calls ${JSON.stringify(calls)}`);
if (JSON.parse(calls[0].function.arguments).city !== "Paris") fail(`arguments ${calls[0].function.arguments}`);
if (second.choices[0].finish_reason !== "tool_calls") fail(`finish ${second.choices[0].finish_reason}`);
console.log("chat.completions.stream with a tool call: ok");

const responses = client.responses.stream({ model: "gpt-5.5", input: "Say hello" });
const events = [];
for await (const event of responses) events.push(event.type);
const final = await responses.finalResponse();
if (final.output_text !== "Responses from node") fail(`output_text ${JSON.stringify(final.output)}`);
if (events[0] !== "response.created" || events[events.length - 1] !== "response.completed")
  fail(`events ${events.join(",")}`);
console.log(`responses.stream: ok (${events.length} events)`);
