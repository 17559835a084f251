import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness, upstreamMessages } from "../../../testing/proxy-harness.js";

/** A 1x1 PNG, and a tiny PDF: real signatures, so type detection has something to read. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==",
  "base64",
);
const PDF = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
const pngDataUri = `data:image/png;base64,${PNG.toString("base64")}`;

let harness: Harness;
type Proxy = Awaited<ReturnType<Harness["startProxy"]>>;
let single: Proxy;
let open: Proxy;
let images: Server;
let imagesUrl: string;
const imageHits: string[] = [];

beforeAll(async () => {
  // Two accounts upstream; the main proxy serves from the first only, so uploads are comparable.
  harness = await startHarness({ accounts: 2, tokens: [] });
  single = await harness.startProxy({ tokens: [harness.accounts[0]!.token] });
  // The main proxy refuses private addresses (the default); this one may fetch from loopback.
  open = await harness.startProxy({
    tokens: [harness.accounts[0]!.token],
    config: { allowPrivateUrls: true },
  });
  images = createServer((request, response) => {
    imageHits.push(request.url ?? "");
    if (request.url === "/cat.png") {
      response.writeHead(200, { "content-type": "image/png" }).end(PNG);
    } else if (request.url === "/huge.png") {
      response.writeHead(200, { "content-type": "image/png" });
      response.end(Buffer.concat([PNG.subarray(0, 8), Buffer.alloc(11 * 1024 * 1024)]));
    } else if (request.url === "/to-cat") {
      response.writeHead(302, { location: "/cat.png" }).end();
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => images.listen(0, "127.0.0.1", resolve));
  imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => images.close(resolve));
  await harness.close();
});

function ossPuts() {
  return harness.fake.requests.filter(
    (entry) => entry.method === "PUT" && entry.path.startsWith("/qwen-webui-prod/"),
  );
}

async function post(url: string, path: string, body: unknown) {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: test reads nested answer fields freely
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

function lastUpstreamFiles(): Array<Record<string, unknown>> {
  const last = harness.completionRequests().at(-1);
  const [message] = last ? upstreamMessages(last) : [];
  return (message?.files as Array<Record<string, unknown>>) ?? [];
}

describe("every way to attach a file reaches Qwen as an uploaded file", () => {
  it("an OpenAI image_url with a data: URI is uploaded (V4-signed PUT) and attached", async () => {
    const before = ossPuts().length;
    const completion = await single.client().chat.completions.create({
      model: "qwen3.7-plus",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What colour?" },
            { type: "image_url", image_url: { url: pngDataUri } },
          ],
        },
      ],
    });
    expect(completion.choices[0]?.message.content).toContain("1 file(s)");
    expect(ossPuts().length).toBe(before + 1);
    const [file] = lastUpstreamFiles();
    expect(file).toMatchObject({
      type: "image",
      file_class: "vision",
      file_type: "image/png",
      status: "uploaded",
    });
    expect(file?.url).toMatch(/qwen-webui-prod/);
  });

  it("the same bytes on the same account are uploaded once", async () => {
    const before = ossPuts().length;
    const reply = await post(single.url, "/api/chat", {
      message: [
        { type: "text", text: "Again the same picture" },
        { type: "image", image: pngDataUri },
      ],
    });
    expect(reply.status).toBe(200);
    expect(reply.body.choices[0].message.content).toContain("1 file(s)");
    expect(ossPuts().length).toBe(before);
  });

  it("a remote image is downloaded (redirects followed) and uploaded, when its address is allowed", async () => {
    const reply = await post(open.url, "/api/chat", {
      message: [
        { type: "text", text: "Remote picture" },
        { type: "image", image: `${imagesUrl}/to-cat` },
      ],
    });
    expect(reply.status).toBe(200);
    expect(imageHits).toContain("/cat.png");
    expect(lastUpstreamFiles()).toHaveLength(1);
  });

  it("a document goes through upstream's parsing before the completion", async () => {
    harness.fake.clearRequests();
    const reply = await post(single.url, "/api/chat", {
      message: [
        { type: "text", text: "Summarise" },
        { type: "file", file: `data:application/pdf;base64,${PDF.toString("base64")}` },
      ],
    });
    expect(reply.status).toBe(200);
    const paths = harness.fake.requests.map((entry) => entry.path);
    expect(paths).toContain("/api/v2/files/parse");
    expect(paths.filter((path) => path === "/api/v2/files/parse/status").length).toBeGreaterThanOrEqual(2);
    expect(paths.lastIndexOf("/api/v2/files/parse/status")).toBeLessThan(
      paths.indexOf("/api/v2/chat/completions"),
    );
    expect(lastUpstreamFiles()[0]).toMatchObject({
      type: "file",
      file_class: "document",
      file_type: "application/pdf",
    });
  });

  it("an image Qwen serves itself is passed on as an image part, not downloaded", async () => {
    const image = `${harness.fake.url}/output/u/t2i/r/1.png?key=k`;
    const before = ossPuts().length;
    const reply = await post(single.url, "/api/chat", {
      message: [
        { type: "text", text: "This one" },
        { type: "image", image },
      ],
    });
    expect(reply.status).toBe(200);
    expect(ossPuts().length).toBe(before);
    const last = harness.completionRequests().at(-1)!;
    expect(upstreamMessages(last)[0]?.content).toContainEqual({ type: "image", image });
  });
});

describe("the upload endpoint", () => {
  it("uploads a file and returns what later messages use: the file id, or the url", async () => {
    const form = new FormData();
    form.append("file", new Blob([PNG], { type: "image/png" }), "кот.png");
    const response = await fetch(`${single.url}/api/files/upload`, { method: "POST", body: form });
    expect(response.status).toBe(201);
    const uploaded = (await response.json()) as {
      fileId: string;
      url: string;
      name: string;
      size: number;
      type: string;
    };
    expect(uploaded, JSON.stringify(uploaded)).toMatchObject({
      name: "кот.png",
      size: PNG.byteLength,
      type: "image/png",
    });
    expect(uploaded.url).toMatch(/^http/);

    // The bytes really landed in (fake) OSS.
    const stored = await fetch(uploaded.url);
    expect(Buffer.from(await stored.arrayBuffer()).equals(PNG)).toBe(true);

    const byId = await post(single.url, "/api/chat", {
      message: [
        { type: "text", text: "Uploaded before" },
        { type: "file", file_id: uploaded.fileId },
      ],
    });
    expect(byId.status).toBe(200);
    expect(lastUpstreamFiles()).toHaveLength(1);

    const byUrl = await single.client().chat.completions.create({
      model: "qwen3.7-plus",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "By its url" },
            { type: "image_url", image_url: { url: uploaded.url } },
          ],
        },
      ],
    });
    expect(byUrl.choices[0]?.message.content).toContain("1 file(s)");

    const openAiFilePart = await single.client().chat.completions.create({
      model: "qwen3.7-plus",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "As an OpenAI file part" },
            { type: "file", file: { file_id: uploaded.fileId } },
          ],
        },
      ],
    });
    expect(openAiFilePart.choices[0]?.message.content).toContain("1 file(s)");
  });

  it("a file uploaded on one account is uploaded again for another account", async () => {
    const second = await harness.startProxy({ tokens: [harness.accounts[1]!.token] });
    const first = await post(single.url, "/api/chat", {
      message: [
        { type: "text", text: "A" },
        { type: "image", image: pngDataUri },
      ],
    });
    expect(first.status).toBe(200);
    const before = ossPuts().length;
    const other = await post(second.url, "/api/chat", {
      message: [
        { type: "text", text: "B" },
        { type: "image", image: pngDataUri },
      ],
    });
    expect(other.status).toBe(200);
    expect(ossPuts().length).toBe(before + 1);
    expect(ossPuts().at(-1)?.accountId ?? null).toBeNull();
    const completion = harness.completionRequests().at(-1)!;
    expect(completion.accountId).toBe(harness.accounts[1]!.id);
  });

  it("passes getstsToken through", async () => {
    const reply = await post(single.url, "/api/files/getstsToken", {
      filename: "a.png",
      filesize: 10,
      filetype: "image",
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ bucketname: "qwen-webui-prod", access_key_id: expect.any(String) });
  });

  it("refuses a request without a file field, and an empty file", async () => {
    const json = await post(single.url, "/api/files/upload", { file: "nope" });
    expect(json.status).toBe(400);
    const form = new FormData();
    form.append("file", new Blob([]), "empty.png");
    const empty = await fetch(`${single.url}/api/files/upload`, { method: "POST", body: form });
    expect(empty.status).toBe(400);
  });
});

describe("what is refused", () => {
  it.each([
    ["a loopback address", (base: string) => `${base}/cat.png`],
    ["localhost", (base: string) => `${base.replace("127.0.0.1", "localhost")}/cat.png`],
    ["a link-local address", () => "http://169.254.169.254/latest/meta-data"],
    ["a private network", () => "http://10.0.0.1/x.png"],
  ])("fetching from %s: 400 forbidden_url, nothing fetched", async (_label, make) => {
    const hits = imageHits.length;
    const reply = await post(single.url, "/v1/chat/completions", {
      model: "qwen3.7-plus",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "x" },
            { type: "image_url", image_url: { url: make(imagesUrl) } },
          ],
        },
      ],
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({
      code: "forbidden_url",
      param: "messages.0.content.1.image_url",
    });
    expect(imageHits.length).toBe(hits);
  });

  it("a remote image over the size limit is a 413, and the download stops", async () => {
    const reply = await post(open.url, "/api/chat", {
      message: [
        { type: "text", text: "big" },
        { type: "image", image: `${imagesUrl}/huge.png` },
      ],
    });
    expect(reply.status).toBe(413);
    expect(reply.body.error.code).toBe("file_too_large");
  });

  it("an unknown file id is a 404; a file that is not an accepted type is a 400", async () => {
    const unknown = await post(single.url, "/api/chat", {
      message: [
        { type: "text", text: "x" },
        { type: "file", file_id: "00000000-0000-4000-8000-000000000000" },
      ],
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("file_not_found");
    const form = new FormData();
    form.append("file", new Blob([Buffer.from("MZ\x90\x00binary")]), "tool.exe");
    const refused = await fetch(`${single.url}/api/files/upload`, { method: "POST", body: form });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("unsupported_file_type");
  });
});
