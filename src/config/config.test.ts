import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, isLoopbackHost, loadConfig } from "./config.js";

describe("configuration", () => {
  it("defaults: port 3264 on loopback, reasoning_content, chat.qwen.ai", () => {
    const config = loadConfig({}, {});
    expect(config).toMatchObject({
      port: 3264,
      host: "127.0.0.1",
      qwenBaseUrl: "https://chat.qwen.ai",
      reasoningFormat: "reasoning_content",
      qwenTokens: [],
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("environment, then flags; lists split on commas", () => {
    const config = loadConfig(
      { port: "4000" },
      { PORT: "3000", QWEN_TOKENS: "a, b,,c", API_KEYS: "k1", REASONING_FORMAT: "think-tags" },
    );
    expect(config.port).toBe(4000);
    expect(config.qwenTokens).toEqual(["a", "b", "c"]);
    expect(config.apiKeys).toEqual(["k1"]);
    expect(config.reasoningFormat).toBe("think-tags");
  });

  it("an empty variable is unset, except CORS_ORIGINS, where empty means no origin at all", () => {
    expect(loadConfig({}, { PORT: "" }).port).toBe(3264);
    expect(loadConfig({}, {}).corsOrigins).toEqual(["loopback"]);
    expect(loadConfig({}, { CORS_ORIGINS: "" }).corsOrigins).toEqual([]);
    expect(loadConfig({}, { CORS_ORIGINS: "*" }).corsOrigins).toEqual(["*"]);
  });

  it("keys from a file, comments skipped", () => {
    const directory = mkdtempSync(join(tmpdir(), "fqa-config-"));
    const file = join(directory, "keys.txt");
    writeFileSync(file, "# keys\nkey-one\n\n key-two \n");
    expect(loadConfig({}, { API_KEYS: "k0", API_KEYS_FILE: file }).apiKeys).toEqual([
      "k0",
      "key-one",
      "key-two",
    ]);
    expect(() => loadConfig({}, { API_KEYS_FILE: join(directory, "missing") })).toThrow(ConfigError);
  });

  it("bad values are refused with the variable's name", () => {
    expect(() => loadConfig({}, { PORT: "eighty" })).toThrow(/PORT/);
    expect(() => loadConfig({}, { REASONING_FORMAT: "loud" })).toThrow(/REASONING_FORMAT/);
    expect(() => loadConfig({}, { QWEN_BASE_URL: "not a url" })).toThrow(/QWEN_BASE_URL/);
  });

  it("knows loopback hosts", () => {
    expect(isLoopbackHost("127.0.0.1")).toBe(true);
    expect(isLoopbackHost("localhost")).toBe(true);
    expect(isLoopbackHost("::1")).toBe(true);
    expect(isLoopbackHost("0.0.0.0")).toBe(false);
    expect(isLoopbackHost("192.168.1.5")).toBe(false);
  });
});
