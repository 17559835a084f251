import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";

// Reply helpers. Note how often upstream answers HTTP 200 for failures: business errors
// are `{"success":false,...}` bodies with status 200, and only auth failures use 401.

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  extraHeaders: Record<string, string> = {},
): void {
  const payload = Buffer.from(JSON.stringify(body), "utf8");
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(payload.length),
    ...extraHeaders,
  });
  response.end(payload);
}

export function sendText(response: ServerResponse, status: number, contentType: string, body: string): void {
  const payload = Buffer.from(body, "utf8");
  response.writeHead(status, { "content-type": contentType, "content-length": String(payload.length) });
  response.end(payload);
}

/** `{"success":false,"request_id":…,"data":{"code":…,"details":…}}` with HTTP 200. */
export function sendBusinessError(response: ServerResponse, code: string, details: string): void {
  sendJson(response, 200, { success: false, request_id: randomUUID(), data: { code, details } });
}

export function sendBadRequest(response: ServerResponse, details: string): void {
  sendBusinessError(response, "Bad_Request", details);
}

export function sendNotFoundBusiness(response: ServerResponse): void {
  sendBusinessError(response, "not found", "Not Found");
}

export function sendSuccess(response: ServerResponse, data: unknown): void {
  sendJson(response, 200, { success: true, request_id: randomUUID(), data });
}

export function sendUnauthorized(response: ServerResponse, detail: string): void {
  sendJson(response, 401, { detail });
}

export function sendRouteNotFound(response: ServerResponse): void {
  sendJson(response, 404, { detail: "Not Found" });
}

export function sendMethodNotAllowed(response: ServerResponse): void {
  sendJson(response, 405, { detail: "Method Not Allowed" });
}

export function sendOssError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  const requestId = randomUUID().replaceAll("-", "").slice(0, 24).toUpperCase();
  const extraElements = Object.entries(extra)
    .map(([name, value]) => `  <${name}>${escapeXml(value)}</${name}>\n`)
    .join("");
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>${code}</Code>\n` +
    `  <Message>${escapeXml(message)}</Message>\n  <RequestId>${requestId}</RequestId>\n` +
    `  <HostId>qwen-webui-prod.oss-ap-southeast-1.aliyuncs.com</HostId>\n${extraElements}</Error>\n`;
  const payload = Buffer.from(body, "utf8");
  response.writeHead(status, {
    "content-type": "application/xml",
    "content-length": String(payload.length),
    "x-oss-request-id": requestId,
    server: "AliyunOSS",
  });
  response.end(payload);
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
