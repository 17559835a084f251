import { describe, expect, it } from "vitest";
import { readStsCredentials, regionFromEndpoint, signingRegionOf, userIdOfPath } from "./sts-credentials.js";

const fields = {
  access_key_id: "STS.id",
  access_key_secret: "secret",
  security_token: "CAIS",
  file_url: "https://qwen-webui-prod.oss-accelerate.aliyuncs.com/u1/abc_cat.png?Expires=1",
  file_path: "u1/abc_cat.png",
  file_id: "file-1",
  bucketname: "qwen-webui-prod",
  region: "oss-ap-southeast-1",
  endpoint: "oss-accelerate.aliyuncs.com",
};

describe("reading getstsToken replies", () => {
  it("reads the wrapped v2 reply and the flat v1 reply alike", () => {
    const expected = {
      accessKeyId: "STS.id",
      accessKeySecret: "secret",
      securityToken: "CAIS",
      filePath: "u1/abc_cat.png",
      fileId: "file-1",
      fileUrl: fields.file_url,
      bucketName: "qwen-webui-prod",
      region: "oss-ap-southeast-1",
      endpoint: "oss-accelerate.aliyuncs.com",
    };
    expect(readStsCredentials({ success: true, data: fields })).toEqual(expected);
    expect(readStsCredentials(fields)).toEqual(expected);
  });

  it("takes the key from file_url when file_path is missing", () => {
    const { file_path: _unused, ...withoutPath } = fields;
    expect(readStsCredentials(withoutPath)?.filePath).toBe("u1/abc_cat.png");
    const pathStyle = { ...withoutPath, file_url: "http://127.0.0.1:1/qwen-webui-prod/u1/a%20b.png?x=1" };
    expect(readStsCredentials(pathStyle)?.filePath).toBe("u1/a b.png");
  });

  it("refuses replies without what signing needs", () => {
    expect(readStsCredentials({ success: true, data: { ...fields, security_token: "" } })).toBeUndefined();
    expect(readStsCredentials({ ...fields, region: undefined })).toBeUndefined();
    expect(readStsCredentials({ success: false, data: { code: "not found" } })).toBeUndefined();
  });

  it("signs with the region without its oss- prefix, or the one a regional endpoint names", () => {
    expect(signingRegionOf({ region: "oss-ap-southeast-1", endpoint: undefined })).toBe("ap-southeast-1");
    expect(signingRegionOf({ region: undefined, endpoint: "oss-cn-hangzhou.aliyuncs.com" })).toBe(
      "cn-hangzhou",
    );
    expect(regionFromEndpoint("oss-accelerate.aliyuncs.com")).toBeUndefined();
    expect(
      readStsCredentials({ ...fields, region: undefined, endpoint: "oss-us-west-1.aliyuncs.com" }),
    ).toMatchObject({ region: undefined });
  });

  it("finds the user id in the key's first folder", () => {
    expect(userIdOfPath("u1/abc_cat.png")).toBe("u1");
    expect(userIdOfPath("cat.png")).toBeUndefined();
  });
});
