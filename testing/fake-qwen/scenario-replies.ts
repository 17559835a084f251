import { randomUUID } from "node:crypto";
import { type ServerResponse, STATUS_CODES } from "node:http";
import { sendBusinessError, sendJson, sendText } from "./http-replies.js";
import type { FakeScenario } from "./types.js";

// Non-streaming answers for injected failures, shaped like the captures in the protocol
// document (§2.6, §4.6). Several of them are HTTP 200 on purpose.

export const inputModerationDetails = "内容安全警告：输入数据可能包含不适当的内容！";
export const outputModerationDetails = "内容安全警告：输出内容可能包含不适当的内容！";
export const quotaDetails =
  "Allocated quota exceeded, please increase your quota limit. For details, see: " +
  "https://help.aliyun.com/zh/model-studio/error-code#token-limit";

const rateLimitDetail = "You've reached the upper limit for today's usage.";
const rateLimitTemplate =
  "You've reached the upper limit for today's usage. Please wait {{num}} hours before trying again.";

export function sendWafChallenge(response: ServerResponse): void {
  const nonce = randomUUID().replaceAll("-", "");
  const page =
    '<!doctypehtml><html lang="zh-CN"><head><meta charset="utf-8">' +
    '<meta name="aliyun_waf_aa" content="1"><title>安全验证</title>' +
    `<script>var requestInfo={traceid:"${nonce}",renderTime:${Date.now()}};</script>` +
    '<script src="https://g.alicdn.com/AWSC/AWSC/awsc.js"></script>' +
    '<script src="https://g.alicdn.com/sd/baxia-entry/baxiaCommon.js"></script>' +
    '</head><body><div id="aliyun_waf_aa" class="waf-nc-wrapper">' +
    "<h1>安全验证</h1><p>请完成以下验证后继续访问 / Please complete the verification to continue.</p>" +
    '<div id="nocaptcha" class="nc-container"></div></div>' +
    '<script>AWSC.use("nc",function(state,module){window.nc=module.init({renderTo:"nocaptcha",' +
    'appkey:"CF_APP_WAF",scene:"register",trans:{key1:"code0"}});});</script></body></html>';
  response.setHeader("set-cookie", `acw_tc=${nonce}; Path=/; HttpOnly; Max-Age=1800`);
  sendText(response, 200, "text/html; charset=utf-8", page);
}

export function sendRateLimited(
  response: ServerResponse,
  hours: number,
  shape: "v2" | "v1" | "http429",
): void {
  if (shape === "v1") {
    sendJson(response, 200, {
      code: "RateLimited",
      detail: rateLimitDetail,
      template: rateLimitTemplate,
      num: hours,
    });
    return;
  }
  const body = {
    success: false,
    request_id: randomUUID(),
    data: { code: "RateLimited", details: rateLimitDetail, template: rateLimitTemplate, num: hours },
  };
  if (shape === "http429") {
    sendJson(response, 429, body, { "retry-after": String(Math.round(hours * 3600)) });
    return;
  }
  sendJson(response, 200, body);
}

export function sendInternalError(response: ServerResponse): void {
  sendBusinessError(response, "Bad_Request", "Internal error");
}

export function sendInputModeration(response: ServerResponse): void {
  sendBusinessError(response, "data_inspection_failed", inputModerationDetails);
}

export function sendHttpError(
  response: ServerResponse,
  status: number,
  body: string | undefined,
  contentType: string | undefined,
): void {
  const reason = STATUS_CODES[status] ?? "Error";
  const page =
    body ??
    `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n` +
      `<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>alibaba-ga</center>\r\n</body>\r\n</html>\r\n`;
  sendText(response, status, contentType ?? "text/html", page);
}

/** Answers for the scenarios that replace the whole response (gateway and business stage). */
export function sendScenarioReply(response: ServerResponse, scenario: FakeScenario): void {
  switch (scenario.kind) {
    case "waf":
      sendWafChallenge(response);
      return;
    case "http-error":
      sendHttpError(response, scenario.status, scenario.body, scenario.contentType);
      return;
    case "rate-limited":
      sendRateLimited(response, scenario.hours ?? 2, scenario.shape ?? "v2");
      return;
    case "moderation":
      sendInputModeration(response);
      return;
    default:
      sendInternalError(response);
  }
}
