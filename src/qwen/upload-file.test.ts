import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "../../testing/fake-qwen/index.js";
import { collect, textOf } from "../../testing/replay.js";
import { QwenError } from "../errors.js";
import { DirectTransport } from "../transport/direct.js";
import type { Transport, TransportRequest, TransportResponse } from "../transport/transport.js";
import { QwenClient, type QwenClientOptions } from "./client.js";

let fake: FakeQwen;
let transport: DirectTransport;
let ossTransport: DirectTransport;
let alice: ReturnType<FakeQwen["addAccount"]>;
let bob: ReturnType<FakeQwen["addAccount"]>;

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 1, 2, 3, 255]);
const PDF = new TextEncoder().encode("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n");

beforeAll(async () => {
  fake = await startFakeQwen({ chunkDelayMs: 0 });
  transport = new DirectTransport();
  ossTransport = new DirectTransport();
  alice = fake.addAccount();
  bob = fake.addAccount();
});

afterAll(async () => {
  await transport.close();
  await ossTransport.close();
  await fake.close();
});

afterEach(() => {
  fake.clearScenario();
});

function clientFor(token: string, options: Partial<QwenClientOptions> = {}): QwenClient {
  return new QwenClient({
    baseUrl: fake.url,
    transport,
    uploadTransport: ossTransport,
    credentials: { token },
    parsePollIntervalMs: 50,
    ...options,
  });
}

function paths(): string[] {
  return fake.requests.map((request) => `${request.method} ${request.path}`);
}

/** A response with this JSON body, as the direct transport would hand it over. */
function jsonResponse(status: number, body: unknown): TransportResponse {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  return {
    status,
    headers: { "content-type": "application/json" },
    body: (async function* () {
      yield bytes;
    })(),
    cancel() {},
  };
}

async function readJson(response: TransportResponse): Promise<unknown> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of response.body) text += decoder.decode(chunk, { stream: true });
  return JSON.parse(text + decoder.decode());
}

/**
 * A test double of our Transport: passes requests to the real one and lets a test replace
 * the JSON answer of chosen upstream paths (or the whole response) on the way back.
 */
function rewritingTransport(
  rewrite: (
    path: string,
    request: TransportRequest,
    response: TransportResponse,
  ) => Promise<TransportResponse>,
): Transport {
  return {
    kind: "direct",
    async request(request) {
      const response = await transport.request(request);
      return rewrite(new URL(request.url).pathname, request, response);
    },
    close: async () => {},
  };
}

function rewriteJson(path: string, change: (json: Record<string, unknown>) => unknown): Transport {
  return rewritingTransport(async (requestPath, _request, response) => {
    if (requestPath !== path) return response;
    const json = (await readJson(response)) as Record<string, unknown>;
    return jsonResponse(response.status, change(json));
  });
}

describe("uploading an image", () => {
  it("PUTs it to the fake OSS with a V4 signature; the returned URL serves the same bytes", async () => {
    fake.clearRequests();
    const uploaded = await clientFor(alice.token).uploadFile({
      bytes: PNG,
      filename: "кот (1).png",
      contentType: "image/png",
    });
    expect(uploaded).toMatchObject({
      name: "кот (1).png",
      size: PNG.byteLength,
      contentType: "image/png",
      kind: "image",
      userId: alice.id,
    });
    // An image is not parsed: credentials and the PUT are all there is.
    expect(paths()).toEqual([
      "POST /api/v2/files/getstsToken",
      expect.stringMatching(new RegExp(`^PUT /qwen-webui-prod/${alice.id}/[0-9a-f-]{36}_`)),
    ]);
    const stsRequest = fake.requests[0];
    expect(stsRequest?.body).toEqual({
      filename: "кот (1).png",
      filesize: PNG.byteLength,
      filetype: "image",
    });
    const put = fake.requests[1];
    expect(put?.headers.authorization).toMatch(/^OSS4-HMAC-SHA256 Credential=STS\./);
    expect(put?.headers.authorization).toContain("/ap-southeast-1/oss/aliyun_v4_request,Signature=");
    expect(put?.headers["x-oss-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
    // The PUT went out over the upload transport, without the account's token.
    expect(put?.headers.cookie).toBeUndefined();

    const download = await fetch(uploaded.url);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(PNG);
  });

  it("builds the attachment object the web app sends (§3.4)", async () => {
    const uploaded = await clientFor(alice.token).uploadFile({
      bytes: PNG,
      filename: "cat.png",
      contentType: "image/png",
    });
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(uploaded.attachment).toEqual({
      type: "image",
      file: {
        created_at: expect.any(Number),
        data: {},
        filename: "cat.png",
        hash: null,
        id: uploaded.fileId,
        user_id: alice.id,
        meta: {
          name: "cat.png",
          size: PNG.byteLength,
          content_type: "image/png",
          parse_meta: { parse_status: "success" },
        },
        update_at: expect.any(Number),
      },
      id: uploaded.fileId,
      url: uploaded.url,
      name: "cat.png",
      collection_name: "",
      progress: 0,
      status: "uploaded",
      greenNet: "success",
      size: PNG.byteLength,
      error: "",
      itemId: expect.stringMatching(uuid),
      file_type: "image/png",
      showType: "image",
      file_class: "vision",
      uploadTaskId: expect.stringMatching(uuid),
    });
    expect(uploaded.url).toContain(`/qwen-webui-prod/${alice.id}/`);
    expect(uploaded.url).toContain("x-oss-signature=");
  });

  it("is refused by OSS when the secret is tampered with: a typed error naming the OSS code", async () => {
    const tampering = rewriteJson("/api/v2/files/getstsToken", (json) => {
      const data = json.data as Record<string, unknown>;
      return { ...json, data: { ...data, access_key_secret: `${String(data.access_key_secret)}x` } };
    });
    const error = await clientFor(alice.token, { transport: tampering })
      .uploadFile({ bytes: PNG, filename: "dog.png", contentType: "image/png" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QwenError);
    expect(error).toMatchObject({
      code: "upstream_error",
      upstreamStatus: 403,
      upstreamCode: "SignatureDoesNotMatch",
    });
    expect((error as QwenError).details).toContain("SignatureDoesNotMatch");
  });
});

describe("where the upload goes", () => {
  afterEach(() => fake.setUploadStyle("oss"));

  it("moves on to the endpoint when file_url is a read-only CDN, and hands out the CDN URL", async () => {
    fake.setUploadStyle("cdn");
    fake.clearRequests();
    const uploaded = await clientFor(alice.token).uploadFile({
      bytes: PNG,
      filename: "cdn.png",
      contentType: "image/png",
    });
    expect(paths()).toEqual([
      "POST /api/v2/files/getstsToken",
      expect.stringMatching(new RegExp(`^PUT /cdn/qwen-webui-prod/${alice.id}/`)),
      expect.stringMatching(new RegExp(`^PUT /qwen-webui-prod/${alice.id}/`)),
    ]);
    expect(new URL(uploaded.url).pathname.startsWith("/cdn/qwen-webui-prod/")).toBe(true);
    const download = await fetch(uploaded.url);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(PNG);
  });

  it("reports what the store said when no place takes the upload", async () => {
    fake.setUploadStyle("cdn");
    const noEndpoint = rewriteJson("/api/v2/files/getstsToken", (json) => {
      const data = json.data as Record<string, unknown>;
      return { ...json, data: { ...data, endpoint: "http://127.0.0.1:9/" } };
    });
    const error = await clientFor(alice.token, { transport: noEndpoint })
      .uploadFile({ bytes: PNG, filename: "nowhere.png", contentType: "image/png" })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "upstream_error",
      upstreamStatus: 403,
      upstreamCode: "AccessDenied",
    });
  });
});

describe("upload credentials", () => {
  it("falls back to the flat v1 getstsToken when v2 answers 404", async () => {
    fake.clearRequests();
    const v2Gone = rewritingTransport(async (path, _request, response) => {
      if (path !== "/api/v2/files/getstsToken") return response;
      // Drained, not cancelled: an unread direct-transport body aborts with nobody listening.
      await readJson(response);
      return jsonResponse(404, { detail: "Not Found" });
    });
    const uploaded = await clientFor(alice.token, { transport: v2Gone }).uploadFile({
      bytes: PNG,
      filename: "v1.png",
      contentType: "image/png",
    });
    expect(paths().slice(0, 2)).toEqual(["POST /api/v2/files/getstsToken", "POST /api/v1/files/getstsToken"]);
    expect(await (await fetch(uploaded.url)).arrayBuffer()).toEqual(PNG.buffer);
  });

  it("falls back to v1 when v2 answers in a shape it cannot read", async () => {
    fake.clearRequests();
    const unreadable = rewriteJson("/api/v2/files/getstsToken", () => ({ success: true, data: { ok: 1 } }));
    const uploaded = await clientFor(alice.token, { transport: unreadable }).uploadFile({
      bytes: PNG,
      filename: "shape.png",
      contentType: "image/png",
    });
    expect(paths()).toContain("POST /api/v1/files/getstsToken");
    expect(uploaded.kind).toBe("image");
  });

  it("does not fall back when v2 fails for the account (rate limit)", async () => {
    fake.clearRequests();
    const limited = rewriteJson("/api/v2/files/getstsToken", () => ({
      success: false,
      data: { code: "RateLimited", details: "limit", num: 2 },
    }));
    await expect(
      clientFor(alice.token, { transport: limited }).uploadFile({
        bytes: PNG,
        filename: "x.png",
        contentType: "image/png",
      }),
    ).rejects.toMatchObject({ code: "rate_limited" });
    expect(paths()).not.toContain("POST /api/v1/files/getstsToken");
  });

  it("passes the raw credential fields through getStsToken", async () => {
    const fields = await clientFor(alice.token).getStsToken({
      filename: "a.txt",
      filesize: 3,
      filetype: "file",
    });
    expect(fields).toMatchObject({
      access_key_id: expect.any(String),
      access_key_secret: expect.any(String),
      security_token: expect.any(String),
      bucketname: "qwen-webui-prod",
      region: "oss-ap-southeast-1",
      file_path: expect.stringContaining(`${alice.id}/`),
    });
    expect(fields).not.toHaveProperty("success");
  });
});

describe("uploading a document", () => {
  it("asks upstream to parse it and polls until parsing succeeded", async () => {
    fake.clearRequests();
    const uploaded = await clientFor(alice.token).uploadFile({
      bytes: PDF,
      filename: "report.pdf",
      contentType: "application/pdf",
    });
    expect(uploaded.kind).toBe("file");
    expect(uploaded.attachment).toMatchObject({
      type: "file",
      showType: "file",
      file_class: "document",
      file_type: "application/pdf",
    });
    const parseRequests = fake.requests.filter((request) => request.path.startsWith("/api/v2/files/parse"));
    expect(parseRequests.map((request) => request.path)).toEqual([
      "/api/v2/files/parse",
      "/api/v2/files/parse/status",
      "/api/v2/files/parse/status",
      "/api/v2/files/parse/status",
    ]);
    expect(parseRequests[0]?.body).toEqual({ file_id: uploaded.fileId });
    expect(parseRequests[1]?.body).toEqual({ file_id_list: [uploaded.fileId] });
    const polls = parseRequests.slice(1).map((request) => request.time);
    expect((polls[1] ?? 0) - (polls[0] ?? 0)).toBeGreaterThanOrEqual(40);
  });

  it("fails with upstream_error when upstream reports the parsing failed", async () => {
    const failing = rewriteJson("/api/v2/files/parse/status", (json) => ({
      ...json,
      data: [{ status: "failed" }],
    }));
    await expect(
      clientFor(alice.token, { transport: failing }).uploadFile({
        bytes: new TextEncoder().encode("plain notes"),
        filename: "notes.txt",
        contentType: "text/plain",
      }),
    ).rejects.toMatchObject({
      code: "upstream_error",
      message: expect.stringContaining("document parsing failed"),
    });
  });

  it("gives up with a timeout when parsing stays pending", async () => {
    const pending = rewriteJson("/api/v2/files/parse/status", (json) => ({
      ...json,
      data: [{ status: "pending" }],
    }));
    await expect(
      clientFor(alice.token, { transport: pending, parseTimeoutMs: 200 }).uploadFile({
        bytes: new TextEncoder().encode("plain notes"),
        filename: "slow.txt",
        contentType: "text/plain",
      }),
    ).rejects.toMatchObject({ code: "timeout" });
  });
});

describe("the accelerate endpoint fallback", () => {
  it("uploads through the regional endpoint when the accelerate host does not resolve", async () => {
    let originalUrl = "";
    // Upstream hands out an accelerate URL, as chat.qwen.ai does.
    const accelerate = rewriteJson("/api/v2/files/getstsToken", (json) => {
      const data = json.data as Record<string, string>;
      originalUrl = String(data.file_url);
      const url = new URL(originalUrl);
      const path = url.pathname.replace(/^\/qwen-webui-prod/, "");
      return {
        ...json,
        data: {
          ...data,
          file_url: `https://qwen-webui-prod.oss-accelerate.aliyuncs.com${path}${url.search}`,
          endpoint: "oss-accelerate.aliyuncs.com",
        },
      };
    });
    // DNS knows no accelerate host here; the regional host is the fake, virtual-host style.
    const tried: string[] = [];
    const network: Transport = {
      kind: "direct",
      async request(request) {
        const url = new URL(request.url);
        tried.push(url.host);
        if (url.host.includes("oss-accelerate")) {
          const cause = Object.assign(new Error(`getaddrinfo ENOTFOUND ${url.host}`), { code: "ENOTFOUND" });
          throw new QwenError("network_error", `Could not reach upstream: ${cause.message}`, { cause });
        }
        return ossTransport.request({
          ...request,
          url: `${fake.url}${url.pathname}`,
          headers: { ...request.headers, host: url.host },
        });
      },
      close: async () => {},
    };
    const uploaded = await clientFor(alice.token, {
      transport: accelerate,
      uploadTransport: network,
    }).uploadFile({
      bytes: PNG,
      filename: "fallback.png",
      contentType: "image/png",
    });
    expect(tried).toEqual([
      "qwen-webui-prod.oss-accelerate.aliyuncs.com",
      "qwen-webui-prod.oss-ap-southeast-1.aliyuncs.com",
    ]);
    expect(uploaded.url.startsWith("https://qwen-webui-prod.oss-accelerate.aliyuncs.com/")).toBe(true);
    expect(new Uint8Array(await (await fetch(originalUrl)).arrayBuffer())).toEqual(PNG);
  });
});

describe("using an upload in a completion", () => {
  it("attaches the file for its own account and is refused for another account", async () => {
    const client = clientFor(alice.token);
    const uploaded = await client.uploadFile({ bytes: PNG, filename: "look.png", contentType: "image/png" });
    const chatId = await client.createChat({ model: "qwen3.7-plus" });
    const own = await collect(
      client.streamCompletion({
        chatId,
        model: "qwen3.7-plus",
        content: "What is in the picture?",
        files: [uploaded.attachment],
      }),
    );
    expect(own.error).toBeUndefined();
    expect(textOf(own.events)).toContain("Attachments: 1 file(s), 0 image part(s).");

    const other = clientFor(bob.token);
    const otherChat = await other.createChat({ model: "qwen3.7-plus" });
    const foreign = await collect(
      other.streamCompletion({
        chatId: otherChat,
        model: "qwen3.7-plus",
        content: "And now?",
        files: [uploaded.attachment],
      }),
    );
    expect(foreign.error).toBeInstanceOf(QwenError);
    expect(foreign.error?.upstreamCode).toBe("Bad_Request");
    expect(foreign.error?.details).toContain(uploaded.fileId);
    expect(textOf(foreign.events)).toBe("");
  });

  it("closes only the upload transport it created itself", async () => {
    const client = new QwenClient({ baseUrl: fake.url, transport, credentials: { token: alice.token } });
    const uploaded = await client.uploadFile({ bytes: PNG, filename: "own.png", contentType: "image/png" });
    expect(uploaded.kind).toBe("image");
    await client.close();
    // The account's transport is still usable.
    expect((await client.listModels()).length).toBeGreaterThan(0);
  });
});
