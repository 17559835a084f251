import { startServer } from "./fake-server.js";
import { FakeState } from "./fake-state.js";
import { ScenarioStore } from "./scenarios.js";
import type { FakeQwen, FakeQwenOptions, RequestLogEntry } from "./types.js";

// A real HTTP server that behaves like chat.qwen.ai's private web API, including its
// rudeness: 200s for failures, byte-split SSE without [DONE], ownership rules, signed
// uploads. Client tests run against it instead of the internet.

export type {
  FakeAccount,
  FakeQwen,
  FakeQwenOptions,
  FakeScenario,
  RequestLogEntry,
  ScenarioOptions,
} from "./types.js";

export async function startFakeQwen(options: FakeQwenOptions = {}): Promise<FakeQwen> {
  const state = new FakeState();
  const scenarios = new ScenarioStore();
  const requests: RequestLogEntry[] = [];
  const running = await startServer({
    state,
    scenarios,
    requests,
    settings: {
      chunkDelayMs: options.chunkDelayMs ?? 1,
      minSpaVersion: options.minSpaVersion ?? "0.2.60",
      seed: options.seed ?? 20260803,
    },
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
  });

  return {
    url: running.url,
    requests,
    clearRequests: () => {
      // Emptied in place so that references held by tests stay live.
      requests.length = 0;
    },
    addAccount: (input) => {
      const account = state.addAccount(input);
      return { ...account, token: state.issueToken(account.id) };
    },
    issueToken: (accountId, tokenOptions) => state.issueToken(accountId, tokenOptions?.expiresInSeconds),
    revokeToken: (token) => state.revokeToken(token),
    setScenario: (scenario, scenarioOptions) => scenarios.set(scenario, scenarioOptions),
    clearScenario: () => scenarios.clear(),
    chatsOf: (accountId) =>
      state
        .chatsOf(accountId)
        .map((chat) => ({ id: chat.id, title: chat.title, messageCount: chat.messages.length })),
    close: () => running.close(),
  };
}
