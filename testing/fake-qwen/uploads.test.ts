import { createHash, createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeQwen, startFakeQwen } from "./index.js";
import { computeOssSignature } from "./oss-signature-v4.js";
import {
  completeTurn,
  completionBody,
  createChat,
  postCompletion,
  postJson,
  spaHeaders,
} from "./test-support.js";

interface StsCredentials {
  access_key_id: string;
  access_key_secret: string;
  security_token: string;
  file_url: string;
  file_path: string;
  file_id: string;
  bucketname: string;
  region: string;
  endpoint: string;
}

/**
 * An independent OSS V4 signer written for this test (the client will have its own), so
 * the fake's verifier is checked against a second implementation rather than itself.
 */
function signOss(input: {
  method: string;
  bucket: string;
  key: string;
  credentials: StsCredentials;
  headers: Record<string, string>;
  region?: string;
  date?: Date;
  additionalHeaders?: string[];
}): Record<string, string> {
  const encode = (text: string) =>
    encodeURIComponent(text).replace(
      /[!'()*]/g,
      (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  const dateTime = (input.date ?? new Date())
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const day = dateTime.slice(0, 8);
  const region = input.region ?? input.credentials.region.replace(/^oss-/, "");
  const headers: Record<string, string> = {
    ...input.headers,
    "x-oss-date": dateTime,
    "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
    "x-oss-security-token": input.credentials.security_token,
  };
  const additional = (input.additionalHeaders ?? []).map((name) => name.toLowerCase()).sort();
  const lowered = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  const signed = Object.keys(lowered)
    .filter(
      (name) =>
        name === "content-type" ||
        name === "content-md5" ||
        name.startsWith("x-oss-") ||
        additional.includes(name),
    )
    .sort();
  const canonicalRequest = [
    input.method,
    `/${input.bucket}/${input.key.split("/").map(encode).join("/")}`,
    "",
    signed.map((name) => `${name}:${String(lowered[name]).trim()}\n`).join(""),
    additional.join(";"),
    "UNSIGNED-PAYLOAD",
  ].join("\n");
  const scope = `${day}/${region}/oss/aliyun_v4_request`;
  const stringToSign = `OSS4-HMAC-SHA256\n${dateTime}\n${scope}\n${createHash("sha256").update(canonicalRequest).digest("hex")}`;
  const chain = [day, region, "oss", "aliyun_v4_request"].reduce<Buffer | string>(
    (key, part) => createHmac("sha256", key).update(part).digest(),
    `aliyun_v4${input.credentials.access_key_secret}`,
  );
  const signature = createHmac("sha256", chain).update(stringToSign).digest("hex");
  const additionalField = additional.length > 0 ? `,AdditionalHeaders=${additional.join(";")}` : "";
  return {
    ...headers,
    authorization: `OSS4-HMAC-SHA256 Credential=${input.credentials.access_key_id}/${scope}${additionalField},Signature=${signature}`,
  };
}

describe("fake-qwen uploads", () => {
  let fake: FakeQwen;
  let alice: ReturnType<FakeQwen["addAccount"]>;
  let bob: ReturnType<FakeQwen["addAccount"]>;

  beforeAll(async () => {
    fake = await startFakeQwen({ chunkDelayMs: 0 });
    alice = fake.addAccount();
    bob = fake.addAccount();
  });
  afterAll(() => fake.close());

  async function requestSts(
    token: string,
    filename: string,
    version: "v1" | "v2" = "v2",
  ): Promise<StsCredentials> {
    const { json } = await postJson(
      `${fake.url}/api/${version}/files/getstsToken`,
      { filename, filesize: 5, filetype: "image" },
      spaHeaders(token),
    );
    return (version === "v2" ? json.data : json) as StsCredentials;
  }

  function putSigned(
    credentials: StsCredentials,
    body: string,
    overrides: Parameters<typeof signOss>[0] | null = null,
  ) {
    const headers = signOss(
      overrides ?? {
        method: "PUT",
        bucket: credentials.bucketname,
        key: credentials.file_path,
        credentials,
        headers: { "content-type": "image/png" },
      },
    );
    return fetch(credentials.file_url.split("?")[0] as string, { method: "PUT", headers, body });
  }

  it("hands out STS credentials wrapped (v2) and flat (v1)", async () => {
    const v2 = await postJson(
      `${fake.url}/api/v2/files/getstsToken`,
      { filename: "cat.png", filesize: 12345, filetype: "image" },
      spaHeaders(alice.token),
    );
    expect(v2.json).toMatchObject({ success: true, request_id: expect.any(String) });
    const data = v2.json.data as StsCredentials;
    expect(data).toMatchObject({
      bucketname: "qwen-webui-prod",
      region: "oss-ap-southeast-1",
      endpoint: expect.any(String),
    });
    expect(data.file_path).toMatch(new RegExp(`^${alice.id}/[0-9a-f-]{36}_cat\\.png$`));
    expect(data.file_url.startsWith(`${fake.url}/qwen-webui-prod/${data.file_path}?`)).toBe(true);
    expect(data.file_url).toContain("x-oss-signature=");
    for (const field of ["access_key_id", "access_key_secret", "security_token", "file_id"] as const) {
      expect(data[field]).toEqual(expect.any(String));
    }
    const v1 = await requestSts(alice.token, "doc.pdf", "v1");
    expect(v1).toMatchObject({
      bucketname: "qwen-webui-prod",
      file_path: expect.stringContaining("_doc.pdf"),
    });
    expect(v1).not.toHaveProperty("success");
  });

  it("computes signatures that match Alibaba's published SDK test vectors", () => {
    const vector = {
      method: "PUT",
      bucket: "bucket",
      key: "1234+-/123/1.txt",
      query: [
        ["param1", "value1"],
        ["|param1", "value4"],
        ["+param1", "value3"],
        ["+param2", ""],
        ["|param2", ""],
        ["param2", ""],
      ] as Array<[string, string]>,
      headers: {
        "x-oss-head1": "value",
        abc: "value",
        zabc: "value",
        xyz: "value",
        "content-type": "text/plain",
        "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
      } as Record<string, string>,
      accessKeySecret: "sk",
      region: "cn-hangzhou",
    };
    const plain = computeOssSignature({ ...vector, additionalHeaders: [], dateTime: "20231216T162057Z" });
    expect(plain.signature).toBe("9efc975fb94480f28a9ab2fcf5b23b4170d83a069838df4e77501d79868bd829");
    const withToken = { ...vector, headers: { ...vector.headers, "x-oss-security-token": "token" } };
    const additional = computeOssSignature({
      ...withToken,
      additionalHeaders: ["abc", "zabc"],
      dateTime: "20231217T034736Z",
    });
    expect(additional.signature).toBe("53452bf8805332ba233a2b3e9e710b668fdccc02c6d012f9ceac05eae4f85462");
  });

  it("accepts a correctly signed PUT and serves the object at file_url", async () => {
    const credentials = await requestSts(alice.token, "кот (1).png");
    const put = await putSigned(credentials, "bytes");
    expect(put.status).toBe(200);
    expect(put.headers.get("etag")).toMatch(/^"[0-9A-F]{32}"$/);
    const download = await fetch(credentials.file_url);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("image/png");
    expect(await download.text()).toBe("bytes");
    const unsigned = await fetch(credentials.file_url.split("?")[0] as string);
    expect(unsigned.status).toBe(403);
  });

  it("refuses tampered, unsigned, mis-scoped and stale uploads with OSS XML errors", async () => {
    const credentials = await requestSts(alice.token, "dog.png");
    const url = credentials.file_url.split("?")[0] as string;
    const base = {
      method: "PUT",
      bucket: credentials.bucketname,
      key: credentials.file_path,
      credentials,
      headers: { "content-type": "image/png" },
    };
    const expectOssError = async (response: Response, status: number, code: string) => {
      expect(response.status).toBe(status);
      expect(response.headers.get("content-type")).toBe("application/xml");
      expect(await response.text()).toContain(`<Code>${code}</Code>`);
    };

    const tampered = signOss(base);
    tampered.authorization = tampered.authorization?.replace(/Signature=(.)/, (_match, first: string) =>
      first === "0" ? "Signature=1" : "Signature=0",
    ) as string;
    await expectOssError(
      await fetch(url, { method: "PUT", headers: tampered, body: "x" }),
      403,
      "SignatureDoesNotMatch",
    );

    const changedType = { ...signOss(base), "content-type": "text/plain" };
    const mismatch = await fetch(url, { method: "PUT", headers: changedType, body: "x" });
    expect(mismatch.status).toBe(403);
    expect(await mismatch.text()).toContain("<StringToSign>");

    await expectOssError(await fetch(url, { method: "PUT", body: "x" }), 403, "AccessDenied");
    const wrongToken = { ...signOss(base), "x-oss-security-token": "CAISforged" };
    await expectOssError(
      await fetch(url, { method: "PUT", headers: wrongToken, body: "x" }),
      403,
      "InvalidAccessKeyId",
    );
    await expectOssError(
      await putSigned(credentials, "x", { ...base, region: "oss-ap-southeast-1" }),
      403,
      "AccessDenied",
    );
    const stale = { ...base, date: new Date(Date.now() - 20 * 60 * 1000) };
    await expectOssError(await putSigned(credentials, "x", stale), 403, "RequestTimeTooSkewed");

    const other = await requestSts(alice.token, "other.png");
    const foreignKey = signOss({ ...base, key: other.file_path });
    const wrongPath = await fetch(other.file_url.split("?")[0] as string, {
      method: "PUT",
      headers: foreignKey,
      body: "x",
    });
    await expectOssError(wrongPath, 403, "AccessDenied");
  });

  it("accepts virtual-host style PUTs with additional signed headers", async () => {
    const credentials = await requestSts(alice.token, "vhost.png");
    const host = `qwen-webui-prod.${credentials.endpoint}`;
    const headers = signOss({
      method: "PUT",
      bucket: credentials.bucketname,
      key: credentials.file_path,
      credentials,
      headers: { "content-type": "image/png", host },
      additionalHeaders: ["host"],
    });
    const { port } = new URL(fake.url);
    const status = await new Promise<number>((resolve, reject) => {
      const outgoing = httpRequest(
        { host: "127.0.0.1", port, method: "PUT", path: `/${encodeURI(credentials.file_path)}`, headers },
        (incoming) => {
          incoming.resume();
          resolve(incoming.statusCode ?? 0);
        },
      );
      outgoing.on("error", reject);
      outgoing.end("vhost-bytes");
    });
    expect(status).toBe(200);
    expect(await (await fetch(credentials.file_url)).text()).toBe("vhost-bytes");
  });

  it("reports parse status pending twice, then success (or failed when never uploaded)", async () => {
    const uploaded = await requestSts(alice.token, "notes.txt");
    await putSigned(uploaded, "hello");
    const missing = await requestSts(alice.token, "ghost.txt");
    const parse = await postJson(
      `${fake.url}/api/v2/files/parse`,
      { file_id: uploaded.file_id },
      spaHeaders(alice.token),
    );
    expect(parse.json).toMatchObject({ success: true });
    const foreign = await postJson(
      `${fake.url}/api/v2/files/parse`,
      { file_id: uploaded.file_id },
      spaHeaders(bob.token),
    );
    expect(foreign.json).toMatchObject({ success: false, data: { code: "not found" } });

    const statuses: string[][] = [];
    for (let poll = 0; poll < 3; poll += 1) {
      const { json } = await postJson(
        `${fake.url}/api/v2/files/parse/status`,
        { file_id_list: [uploaded.file_id, missing.file_id] },
        spaHeaders(alice.token),
      );
      expect(json.success).toBe(true);
      statuses.push((json.data as Array<{ file_id: string; status: string }>).map((entry) => entry.status));
    }
    expect(statuses).toEqual([
      ["pending", "pending"],
      ["pending", "pending"],
      ["success", "failed"],
    ]);
  });

  it("lets a completion attach only the caller's uploaded files", async () => {
    const credentials = await requestSts(alice.token, "photo.png");
    await putSigned(credentials, "png");
    const attachment = {
      type: "image",
      file: { id: credentials.file_id, filename: "photo.png", user_id: alice.id },
      id: credentials.file_id,
      url: credentials.file_url,
      name: "photo.png",
      file_type: "image/png",
      showType: "image",
      file_class: "vision",
      status: "uploaded",
    };
    const aliceChat = await createChat(fake, alice.token);
    const { answer } = await completeTurn(fake, alice.token, aliceChat, {
      text: "look",
      files: [attachment],
    });
    expect(answer).toContain("Attachments: 1 file(s), 0 image part(s).");

    const bobChat = await createChat(fake, bob.token);
    const stolen = await postCompletion(
      fake,
      bob.token,
      bobChat,
      completionBody(bobChat, { files: [attachment] }),
    );
    expect(await stolen.json()).toMatchObject({ success: false, data: { code: "Bad_Request" } });

    const pending = await requestSts(alice.token, "later.png");
    const notUploaded = { ...attachment, id: pending.file_id, file: { id: pending.file_id } };
    const early = await postCompletion(
      fake,
      alice.token,
      aliceChat,
      completionBody(aliceChat, { files: [notUploaded] }),
    );
    expect(await early.json()).toMatchObject({ success: false, data: { code: "Bad_Request" } });
  });
});
