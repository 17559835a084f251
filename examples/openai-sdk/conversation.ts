import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { client, model } from "./client.js";

// A conversation is just a list of messages that you keep and send again each turn, with
// the model's replies in it. The proxy recognises the history and continues the same Qwen
// chat instead of starting a new one.
// Run: npx tsx examples/openai-sdk/conversation.ts

const questions = [
  "My name is Ada and I like astronomy. Please remember that.",
  "Suggest one thing I could look at through a small telescope tonight.",
  "What was my name again, and what do I like?",
];

const history: ChatCompletionMessageParam[] = [];

for (const question of questions) {
  history.push({ role: "user", content: question });
  const completion = await client.chat.completions.create({ model, messages: history });
  const reply = completion.choices[0]?.message.content ?? "";
  // The reply goes into the history too, or the model would not see its own answers.
  history.push({ role: "assistant", content: reply });
  console.log(`you:  ${question}\nqwen: ${reply}\n`);
}
