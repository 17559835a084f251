import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PrivateJsonFileWriter, readJsonFileSync } from "./private-json-file.js";

describe("a JSON file kept up to date off the event loop", () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), "fqa-json-"));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it("ends with the newest value, owner-only, with no temporary files left", async () => {
    const path = join(directory, "nested", "state.json");
    const writer = new PrivateJsonFileWriter(path);
    for (let index = 0; index < 50; index++) writer.save({ index });
    await writer.idle();
    expect(readJsonFileSync(path)).toEqual({ index: 49 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(directory, "nested"))).toEqual(["state.json"]);
    writer.save([]);
    await writer.idle();
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual([]);
  });
});
