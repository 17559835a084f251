import { BrowserSurface } from "./browser-surface.js";
import { startServer } from "./fake-server.js";
import { FakeState } from "./fake-state.js";
import { ScenarioStore } from "./scenarios.js";
import type { FakeQwen, FakeQwenOptions, RequestLogEntry } from "./types.js";

// A real HTTP server that behaves like chat.qwen.ai's private web API, including its
// rudeness: 200s for failures, byte-split SSE without [DONE], ownership rules, signed
// uploads, an anti-bot wall only a real browser gets through. Client tests run against it
// instead of the internet.

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
  const browserSurface = new BrowserSurface();
  const requests: RequestLogEntry[] = [];
  const running = await startServer({
    state,
    scenarios,
    browserSurface,
    requests,
    settings: {
      chunkDelayMs: options.chunkDelayMs ?? 1,
      minSpaVersion: options.minSpaVersion ?? "0.2.60",
      seed: options.seed ?? 20260803,
      taskPollsToSuccess: Math.max(1, Math.floor(options.taskPollsToSuccess ?? 3)),
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
    setBotWall: (enabled) => {
      browserSurface.botWallEnabled = enabled;
    },
    setVerification: (enabled) => {
      browserSurface.verificationEnabled = enabled;
    },
    invalidateClearance: () => browserSurface.invalidateClearance(),
    setUploadStyle: (style) => {
      state.uploadStyle = style;
    },
    setTaskStatusRoute: (version) => {
      state.taskStatusRoute = version;
    },
    setChatDetailShape: (shape) => {
      state.chatDetailShape = shape;
    },
    get pageLoads() {
      return browserSurface.pageLoads;
    },
    close: () => running.close(),
  };
}
