import { client, model } from "./client.js";

// A system message sets the rules for the whole conversation: tone, language, format.
// Qwen's web app has no place for it, so the proxy puts it in front of your message.
// Run: npx tsx examples/openai-sdk/system-message.ts

const completion = await client.chat.completions.create({
  model,
  messages: [
    { role: "system", content: "You are a pirate. Answer in at most two sentences." },
    { role: "user", content: "How do I make a cup of tea?" },
  ],
});

console.log(completion.choices[0]?.message.content);
