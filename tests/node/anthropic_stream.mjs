// Drives codexia's Anthropic Messages API with the official Node SDK's stream helper, which
// checks event order and truncation (docs/compatibility.md §1.4).
// Usage (cwd tests/node so the package resolves): node anthropic_stream.mjs BASE_URL
// The Rust test queues: 1. reasoning + text "Hello from codexia"; 2. a `lookup` call {"q":"weather"}.
import Anthropic from "@anthropic-ai/sdk";

const client = new Anthropic({ baseURL: process.argv[2], apiKey: "test-key", maxRetries: 0 });
const fail = (message) => {
  console.error(`FAILED: ${message}`);
  process.exit(1);
};

const first = await client.messages
  .stream({
    model: "claude-sonnet-4-5",
    max_tokens: 1024,
    thinking: { type: "enabled", budget_tokens: 2048 },
    messages: [{ role: "user", content: "Say hello" }],
  })
  .finalMessage();
const text = first.content.find((b) => b.type === "text");
if (!text || text.text !== "Hello from codexia") fail(`text ${JSON.stringify(first.content)}`);
if (first.content[0].type !== "thinking" || !first.content[0].signature.startsWith("cdx1:"))
  fail(`thinking ${JSON.stringify(first.content[0])}`);
if (first.stop_reason !== "end_turn") fail(`stop_reason ${first.stop_reason}`);
console.log("stream text: ok");

const second = await client.messages
  .stream({
    model: "claude-sonnet-4-5",
    max_tokens: 1024,
    tools: [
      {
        name: "lookup",
        description: "Look something up",
        input_schema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
      },
    ],
    messages: [{ role: "user", content: "Weather?" }],
  })
  .finalMessage();
const tool = second.content.find((b) => b.type === "tool_use");
if (!tool || tool.name !== "lookup" || tool.input.q !== "weather") fail(`tool ${JSON.stringify(second.content)}`);
if (second.stop_reason !== "tool_use") fail(`stop_reason ${second.stop_reason}`);
console.log("stream tool_use: ok");
