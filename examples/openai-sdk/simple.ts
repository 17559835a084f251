import { client, model } from "./client.js";

// One question, one answer: the smallest useful call.
// Run: npx tsx examples/openai-sdk/simple.ts

const completion = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Explain in one sentence what a proxy server does." }],
});

console.log(completion.choices[0]?.message.content);
// Qwen's web app does not always report token counts; the proxy then estimates them.
console.log("\ntokens used:", completion.usage?.total_tokens);
