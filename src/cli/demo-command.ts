import { startFakeQwen } from "../../testing/fake-qwen/index.js";
import { configFromFlags, type ServeFlags, serve } from "./serve-command.js";

/**
 * An offline playground: the fake upstream and the proxy wired together, so every example
 * runs without a Qwen account. Replies come from the fake, not from a model.
 */
export async function demo(flags: ServeFlags): Promise<void> {
  const fake = await startFakeQwen({ port: 0 });
  const account = fake.addAccount({ email: "demo@example.com", password: "demo" });
  const config = configFromFlags(flags, { qwenBaseUrl: fake.url, qwenTokens: [account.token] });
  await serve(
    config,
    [
      `  Demo mode: upstream is the built-in fake at ${fake.url} (no real Qwen, no account needed).`,
      "  Try: npm run example:stream",
    ],
    () => fake.close(),
  );
}
