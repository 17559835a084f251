import { describe, expect, it } from "vitest";
import { QwenError } from "../errors.js";
import { ossUploadTargets } from "./oss-upload-targets.js";
import { isConnectFailure } from "./put-oss-object.js";

// Pure: where an upload goes, and when the next place is worth a try. The end-to-end
// fallback through a failing DNS runs against the fake in upload-file.test.ts.
describe("the accelerate endpoint fallback", () => {
  const credentials = {
    filePath: "user-1/f00d_кот 1.png",
    bucketName: "qwen-webui-prod",
    region: "oss-ap-southeast-1",
    endpoint: "oss-accelerate.aliyuncs.com",
  };
  const encodedKey = "user-1/f00d_%D0%BA%D0%BE%D1%82%201.png";

  it("tries file_url without its query first, then the regional endpoint", () => {
    const targets = ossUploadTargets({
      ...credentials,
      fileUrl: `https://qwen-webui-prod.oss-accelerate.aliyuncs.com/${encodedKey}?Expires=1&Signature=abc`,
    });
    expect(targets).toEqual([
      {
        url: `https://qwen-webui-prod.oss-accelerate.aliyuncs.com/${encodedKey}`,
        host: "qwen-webui-prod.oss-accelerate.aliyuncs.com",
        source: "file-url",
      },
      {
        url: `https://qwen-webui-prod.oss-ap-southeast-1.aliyuncs.com/${encodedKey}`,
        host: "qwen-webui-prod.oss-ap-southeast-1.aliyuncs.com",
        source: "regional",
      },
    ]);
  });

  it("builds <bucket>.<endpoint>/<key> when file_url does not parse, still with the fallback", () => {
    const targets = ossUploadTargets({ ...credentials, fileUrl: "not a url" });
    expect(targets.map((target) => [target.source, target.url])).toEqual([
      ["endpoint", `https://qwen-webui-prod.oss-accelerate.aliyuncs.com/${encodedKey}`],
      ["regional", `https://qwen-webui-prod.oss-ap-southeast-1.aliyuncs.com/${encodedKey}`],
    ]);
  });

  it("needs no fallback for a regional or path-style URL", () => {
    expect(
      ossUploadTargets({ ...credentials, endpoint: "oss-ap-southeast-1.aliyuncs.com", fileUrl: undefined }),
    ).toHaveLength(1);
    const pathStyle = ossUploadTargets({
      ...credentials,
      fileUrl: `http://127.0.0.1:3265/qwen-webui-prod/${encodedKey}?x-oss-signature=1`,
    });
    expect(pathStyle[0]).toEqual({
      url: `http://127.0.0.1:3265/qwen-webui-prod/${encodedKey}`,
      host: "127.0.0.1:3265",
      source: "file-url",
    });
    // The endpoint stays behind it, in case that URL only serves reads.
    expect(pathStyle.map((target) => target.source)).toEqual(["file-url", "endpoint", "regional"]);
  });

  it("keeps an endpoint's scheme, and puts the bucket in the path for an address or a port", () => {
    const local = ossUploadTargets({ ...credentials, endpoint: "http://127.0.0.1:9000", fileUrl: undefined });
    expect(local).toEqual([
      {
        url: `http://127.0.0.1:9000/qwen-webui-prod/${encodedKey}`,
        host: "127.0.0.1:9000",
        source: "endpoint",
      },
    ]);
    const named = ossUploadTargets({ ...credentials, endpoint: "localhost:9000/", fileUrl: undefined });
    expect(named[0]?.url).toBe(`https://localhost:9000/qwen-webui-prod/${encodedKey}`);
    const hosted = ossUploadTargets({
      ...credentials,
      endpoint: "http://oss.example.org",
      fileUrl: undefined,
    });
    expect(hosted[0]?.url).toBe(`http://qwen-webui-prod.oss.example.org/${encodedKey}`);
  });

  it("tries a URL once, even when file_url and the endpoint agree", () => {
    const targets = ossUploadTargets({
      ...credentials,
      endpoint: "oss-ap-southeast-1.aliyuncs.com",
      fileUrl: `https://qwen-webui-prod.oss-ap-southeast-1.aliyuncs.com/${encodedKey}?Expires=1`,
    });
    expect(targets.map((target) => target.source)).toEqual(["file-url"]);
  });

  it("recognises the overseas accelerate endpoint too", () => {
    const targets = ossUploadTargets({
      ...credentials,
      endpoint: "oss-accelerate-overseas.aliyuncs.com",
      fileUrl: undefined,
    });
    expect(targets.map((target) => target.host)).toEqual([
      "qwen-webui-prod.oss-accelerate-overseas.aliyuncs.com",
      "qwen-webui-prod.oss-ap-southeast-1.aliyuncs.com",
    ]);
  });

  it("tells a failure to connect from an answer", () => {
    const dns = Object.assign(new Error("getaddrinfo ENOTFOUND x"), { code: "ENOTFOUND" });
    expect(isConnectFailure(new QwenError("network_error", "no", { cause: dns }))).toBe(true);
    const reset = Object.assign(new Error("socket hang up"), { code: "UND_ERR_SOCKET" });
    expect(isConnectFailure(new QwenError("network_error", "no", { cause: reset }))).toBe(false);
    expect(isConnectFailure(new QwenError("upstream_error", "403"))).toBe(false);
  });
});
