import { startFakeQwen } from "./index.js";

// Standalone runner: `npm run fake-qwen`. Useful for poking the fake with curl or for
// pointing a locally running proxy at it (QWEN_BASE_URL=<printed url>).

const port = Number.parseInt(process.env.FAKE_QWEN_PORT ?? "3265", 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`FAKE_QWEN_PORT must be a port number, got ${process.env.FAKE_QWEN_PORT}`);
  process.exit(1);
}

const fake = await startFakeQwen({ port, chunkDelayMs: 15 });
const demo = fake.addAccount({ email: "demo@example.com", password: "demo", name: "Demo" });
// With the wall up only a browser that loaded a page gets through, which is what the
// browser transport needs to be tried against by hand.
const botWall = process.env.FAKE_QWEN_BOT_WALL === "1";
fake.setBotWall(botWall);

console.log(`fake chat.qwen.ai listening on ${fake.url}`);
console.log("demo account: demo@example.com / demo (sign in with the SHA-256 hex of the password)");
console.log(`demo token:   ${demo.token}`);
console.log(`browser sign-in: ${fake.url}/auth?action=signin${botWall ? " (bot wall is up)" : ""}`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal} received, stopping fake chat.qwen.ai`);
  await fake.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
