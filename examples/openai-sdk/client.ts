import OpenAI from "openai";

// The one place the examples learn where the proxy is. The official OpenAI SDK talks to
// FreeQwenApi exactly as it talks to OpenAI; only the base URL differs.
//
//   OPENAI_BASE_URL  where the proxy listens (default: the local proxy, also `npm run demo`)
//   API_KEY          only if the proxy was started with API_KEYS; any text otherwise
//   MODEL            a Qwen model name from `models.ts` (default: qwen3.7-plus)

export const client = new OpenAI({
  baseURL: process.env.OPENAI_BASE_URL ?? "http://127.0.0.1:3264/v1",
  // The SDK refuses to start without a key, even when the proxy asks for none.
  apiKey: process.env.API_KEY ?? "not-needed",
});

export const model = process.env.MODEL ?? "qwen3.7-plus";
