import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  buildOssCanonicalRequest,
  isoBasicDateTime,
  type OssRequestSigningInput,
  ossUriEncode,
  signOssPut,
  signOssRequest,
} from "./oss-signer.js";

/**
 * Known answers from Alibaba's own OSS Android SDK tests (SingerTest: testSingerWithSignerV4,
 * testSingerWithSignerV4Token, testSignerV4WithAdditionalHeaders). That SDK carries the
 * signing time in an ISO 8601 `Date` header, so these run with `dateHeader: "date"`.
 */
const sdkRequest: Omit<OssRequestSigningInput, "date"> = {
  method: "PUT",
  bucket: "bucket",
  objectKey: "1234+-/123/1.txt",
  region: "cn-hangzhou",
  accessKeyId: "ak",
  accessKeySecret: "sk",
  dateHeader: "date",
  headers: {
    "x-oss-head1": "value",
    abc: "value",
    ZAbc: "value",
    XYZ: "value",
    "content-type": "text/plain",
    "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
  },
  // A Java HashMap: the second "|param1" replaced the first.
  query: [
    ["param1", "value1"],
    ["|param1", "value4"],
    ["+param1", "value3"],
    ["+param2", ""],
    ["|param2", ""],
    ["param2", ""],
  ],
};

describe("OSS Signature V4 against Alibaba's SDK test vectors", () => {
  it("signs with a plain access key", () => {
    const signed = signOssRequest({ ...sdkRequest, date: new Date(1702743657018) });
    expect(signed.authorization).toBe(
      "OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request," +
        "Signature=9efc975fb94480f28a9ab2fcf5b23b4170d83a069838df4e77501d79868bd829",
    );
  });

  it("builds the SDK's string to sign", () => {
    const signed = signOssRequest({ ...sdkRequest, date: new Date(1702784856007) });
    expect(signed.stringToSign).toBe(
      "OSS4-HMAC-SHA256\n20231217T034736Z\n20231217/cn-hangzhou/oss/aliyun_v4_request\n" +
        "068f4aca83d49df1bdedaf73bb024dade6e8aebc7f880481f840553ccd752590",
    );
  });

  it("signs the STS security token as x-oss-security-token", () => {
    const signed = signOssRequest({ ...sdkRequest, date: new Date(1702784856007), securityToken: "token" });
    expect(signed.headers["x-oss-security-token"]).toBe("token");
    expect(signed.authorization).toBe(
      "OSS4-HMAC-SHA256 Credential=ak/20231217/cn-hangzhou/oss/aliyun_v4_request," +
        "Signature=0436fec1623c737d5827c11d200afd3df51d067b80196080438f57c94d99b9b0",
    );
  });

  it("signs additional headers, ignoring names that are default-signed or absent", () => {
    const expected =
      "OSS4-HMAC-SHA256 Credential=ak/20231217/cn-hangzhou/oss/aliyun_v4_request,AdditionalHeaders=abc;zabc," +
      "Signature=53452bf8805332ba233a2b3e9e710b668fdccc02c6d012f9ceac05eae4f85462";
    const base = { ...sdkRequest, date: new Date(1702784856007), securityToken: "token" };
    expect(signOssRequest({ ...base, additionalHeaders: ["abc", "ZAbc"] }).authorization).toBe(expected);
    expect(
      signOssRequest({ ...base, additionalHeaders: ["abc", "ZAbc", "x-oss-head1", "x-oss-no-exist"] })
        .authorization,
    ).toBe(expected);
  });
});

describe("canonical request", () => {
  it("has method, /bucket/key, sorted encoded query, signed headers, additional names, payload", () => {
    const canonical = signOssRequest({ ...sdkRequest, date: new Date(1702743657018) }).canonicalRequest;
    expect(canonical.split("\n")).toEqual([
      "PUT",
      "/bucket/1234%2B-/123/1.txt",
      "%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2",
      "content-type:text/plain",
      "x-oss-content-sha256:UNSIGNED-PAYLOAD",
      "x-oss-head1:value",
      "",
      "",
      "UNSIGNED-PAYLOAD",
    ]);
  });

  it("keeps the bucket in the URI and trims header values", () => {
    const canonical = buildOssCanonicalRequest({
      method: "put",
      bucket: "qwen-webui-prod",
      objectKey: "user/a b.txt",
      query: [],
      headers: { "content-type": "  text/plain ", "x-oss-date": "20260101T000000Z", "user-agent": "x" },
      additionalHeaders: [],
    });
    expect(canonical).toBe(
      "PUT\n/qwen-webui-prod/user/a%20b.txt\n\ncontent-type:text/plain\nx-oss-date:20260101T000000Z\n\n\nUNSIGNED-PAYLOAD",
    );
  });
});

describe("URI encoding", () => {
  it("encodes UTF-8 bytes and reserved characters, spaces as %20, never +", () => {
    expect(ossUriEncode("кот (1).png")).toBe("%D0%BA%D0%BE%D1%82%20%281%29.png");
    expect(ossUriEncode("a+b c!'*~_.-")).toBe("a%2Bb%20c%21%27%2A~_.-");
    expect(ossUriEncode("猫 🐱")).toBe("%E7%8C%AB%20%F0%9F%90%B1");
  });

  it("keeps '/' only in a resource path", () => {
    expect(ossUriEncode("u1/d i r/x.txt", { keepSlash: true })).toBe("u1/d%20i%20r/x.txt");
    expect(ossUriEncode("u1/x")).toBe("u1%2Fx");
  });
});

describe("signOssPut", () => {
  const input = {
    bucket: "qwen-webui-prod",
    objectKey: "user-1/5b0c_кот (1).png",
    host: "qwen-webui-prod.oss-accelerate.aliyuncs.com",
    region: "ap-southeast-1",
    accessKeyId: "STS.key",
    accessKeySecret: "secret",
    securityToken: "CAIStoken",
    contentType: "image/png",
    date: new Date(Date.UTC(2026, 7, 12, 10, 30, 5, 123)),
  };

  it("returns exactly the headers to send", () => {
    const headers = signOssPut(input);
    expect(Object.keys(headers).sort()).toEqual([
      "authorization",
      "content-type",
      "x-oss-content-sha256",
      "x-oss-date",
      "x-oss-security-token",
    ]);
    expect(headers).toMatchObject({
      "content-type": "image/png",
      "x-oss-date": "20260812T103005Z",
      "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
      "x-oss-security-token": "CAIStoken",
    });
    expect(headers.authorization).toMatch(
      /^OSS4-HMAC-SHA256 Credential=STS\.key\/20260812\/ap-southeast-1\/oss\/aliyun_v4_request,Signature=[0-9a-f]{64}$/,
    );
  });

  it("matches a signature computed independently from the documented steps", () => {
    const headers = signOssPut(input);
    const canonicalRequest = [
      "PUT",
      "/qwen-webui-prod/user-1/5b0c_%D0%BA%D0%BE%D1%82%20%281%29.png",
      "",
      "content-type:image/png\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20260812T103005Z\n" +
        "x-oss-security-token:CAIStoken\n",
      "",
      "UNSIGNED-PAYLOAD",
    ].join("\n");
    const stringToSign = `OSS4-HMAC-SHA256\n20260812T103005Z\n20260812/ap-southeast-1/oss/aliyun_v4_request\n${createHash("sha256").update(canonicalRequest).digest("hex")}`;
    let key: Buffer = createHmac("sha256", "aliyun_v4secret").update("20260812").digest();
    for (const part of ["ap-southeast-1", "oss", "aliyun_v4_request"]) {
      key = createHmac("sha256", key).update(part).digest();
    }
    const signature = createHmac("sha256", key).update(stringToSign).digest("hex");
    expect(headers.authorization?.endsWith(`Signature=${signature}`)).toBe(true);
  });

  it("names AdditionalHeaders only when used, and then sends the signed host", () => {
    const headers = signOssPut({ ...input, additionalHeaders: ["Host"] });
    expect(headers.host).toBe("qwen-webui-prod.oss-accelerate.aliyuncs.com");
    expect(headers.authorization).toContain("/aliyun_v4_request,AdditionalHeaders=host,Signature=");
    expect(headers.authorization).not.toBe(signOssPut(input).authorization);
  });

  it("formats x-oss-date as ISO 8601 basic in UTC", () => {
    expect(isoBasicDateTime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 999)))).toBe("20260102T030405Z");
  });
});
