import { client } from "./client.js";

// Every model name the proxy accepts: Qwen's models as chat.qwen.ai lists them, plus
// variants such as `-thinking` or `-search` that switch a feature on by name.
// Run: npx tsx examples/openai-sdk/models.ts

// The SDK pages through the list for you.
for await (const model of client.models.list()) {
  console.log(`${model.id.padEnd(36)} owned by ${model.owned_by}`);
}
