import { gzipSync } from "node:zlib";
import { sendJson } from "../http-replies.js";
import { fakeModels, modelToWire } from "../models-catalogue.js";
import { headerValue, type RequestContext } from "../request-context.js";

// The catalogue needs no authentication (gpt4free calls it anonymously) and comes back
// gzip-encoded whenever the client allows it, as the real site does.

export function handleModels(context: RequestContext): void {
  const body = Buffer.from(JSON.stringify({ data: fakeModels.map(modelToWire) }), "utf8");
  if (!acceptsGzip(headerValue(context.request, "accept-encoding"))) {
    context.response.writeHead(200, {
      "content-type": "application/json",
      "content-length": String(body.length),
      vary: "Accept-Encoding",
    });
    context.response.end(body);
    return;
  }
  const compressed = gzipSync(body);
  context.response.writeHead(200, {
    "content-type": "application/json",
    "content-encoding": "gzip",
    "content-length": String(compressed.length),
    vary: "Accept-Encoding",
  });
  context.response.end(compressed);
}

/** The v2 variant (§1.2): minimal entries, doubly nested under `data.data`. */
export function handleModelsV2(context: RequestContext): void {
  const entries = fakeModels
    .filter((model) => model.isActive)
    .map((model) => ({ id: model.id, name: model.name, owned_by: "qwen" }));
  sendJson(context.response, 200, { data: { data: entries } });
}

function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(",").some((part) => {
    const [coding, ...parameters] = part.trim().toLowerCase().split(";");
    if (coding !== "gzip" && coding !== "*") return false;
    const quality = parameters.map((parameter) => parameter.trim()).find((item) => item.startsWith("q="));
    return quality === undefined || Number.parseFloat(quality.slice(2)) > 0;
  });
}
