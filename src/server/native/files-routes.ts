import multipart from "@fastify/multipart";
import type { FastifyInstance } from "fastify";
import { SIZE_LIMITS } from "../../files/file-types.js";
import type { AppContext } from "../app-context.js";
import { clientAbortSignal } from "../client-abort.js";
import { RequestError } from "../http-errors.js";

/**
 * `POST /api/files/upload` (multipart `file`): the file is checked, kept, and uploaded to an
 * account at once; the answer's `fileId` (or `url`) works in later messages on any account.
 * `POST /api/files/getstsToken`: upstream's upload credentials, passed through as the
 * original API did.
 */
export async function registerFiles(app: FastifyInstance, context: AppContext): Promise<void> {
  await app.register(multipart, {
    limits: { fileSize: Math.max(...Object.values(SIZE_LIMITS)), files: 1, fields: 10 },
  });

  app.post("/api/files/upload", async (request, reply) => {
    if (!request.isMultipart()) {
      throw new RequestError("Send the file as multipart/form-data in a field named 'file'", {
        param: "file",
      });
    }
    const part = await request.file();
    if (part?.fieldname !== "file") {
      throw new RequestError("Send the file in a multipart field named 'file'", { param: "file" });
    }
    const bytes = await part.toBuffer().catch((error: unknown) => {
      if ((error as { code?: string }).code === "FST_REQ_FILE_TOO_LARGE") {
        throw new RequestError("The file is larger than any accepted type allows", {
          status: 413,
          code: "file_too_large",
          param: "file",
        });
      }
      throw error;
    });
    if (bytes.byteLength === 0) throw new RequestError("The file is empty", { param: "file" });
    const stored = context.ingest.store(bytes, utf8Name(part.filename), part.mimetype, "upload", "file");
    const signal = clientAbortSignal(request, reply);
    const account = await context.accounts.acquire({ signal });
    try {
      const uploaded = await context.uploads.upload(stored.id, account, signal);
      context.accounts.reportSuccess(account);
      reply.status(201);
      return {
        fileId: stored.id,
        url: uploaded.url,
        name: stored.name,
        size: stored.size,
        type: stored.contentType,
        kind: uploaded.kind,
      };
    } finally {
      context.accounts.release(account);
    }
  });

  app.post("/api/files/getstsToken", async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof body.filename !== "string" || body.filename === "") {
      throw new RequestError("'filename' is required", { param: "filename" });
    }
    const signal = clientAbortSignal(request, reply);
    const account = await context.accounts.acquire({ signal });
    try {
      return await account.client.getStsToken(body, { signal });
    } finally {
      context.accounts.release(account);
    }
  });
}

/**
 * Browsers send UTF-8 file names, which the multipart parser reads as Latin-1 ("ÐºÐ¾Ñ‚.png"
 * for "кот.png"). Read back as UTF-8 when that gives a clean result.
 */
function utf8Name(name: string): string {
  const codes = [...name].map((char) => char.codePointAt(0) ?? 0);
  if (!codes.some((code) => code >= 0x80) || codes.some((code) => code > 0xff)) return name;
  const decoded = Buffer.from(name, "latin1").toString("utf8");
  return decoded.includes("\ufffd") ? name : decoded;
}
