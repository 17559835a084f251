import { styleText } from "node:util";
import { client, model } from "./client.js";

// The answer as it is written. With thinking switched on, Qwen first reasons, and the proxy
// sends that as `reasoning_content` (a field OpenAI's own models do not have, so the SDK's
// types do not know it); it is printed dim, the answer itself normally.
// Run: npx tsx examples/openai-sdk/streaming.ts   (or: npm run example:stream)

const stream = client.chat.completions.stream({
  model,
  // Any effort but "none"/"minimal" switches Qwen's thinking on.
  reasoning_effort: "medium",
  messages: [{ role: "user", content: "Why is the sky blue? Two sentences, please." }],
});

let thinking = false;
for await (const chunk of stream) {
  const delta = chunk.choices[0]?.delta as
    | { content?: string | null; reasoning_content?: string }
    | undefined;
  if (delta?.reasoning_content) {
    thinking = true;
    process.stdout.write(styleText("dim", delta.reasoning_content));
  }
  if (delta?.content) {
    if (thinking) {
      // A blank line between the reasoning and the answer.
      process.stdout.write("\n\n");
      thinking = false;
    }
    process.stdout.write(delta.content);
  }
}
process.stdout.write("\n");
