import { extname } from "node:path";

export type FileKind = "image" | "document" | "audio" | "video";

export interface FileType {
  contentType: string;
  kind: FileKind;
}

/** Largest file of each kind the proxy accepts (Qwen's web app has similar limits). */
export const SIZE_LIMITS: Readonly<Record<FileKind, number>> = Object.freeze({
  image: 10 * 1024 * 1024,
  document: 20 * 1024 * 1024,
  audio: 20 * 1024 * 1024,
  video: 50 * 1024 * 1024,
});

/** Types recognised by their first bytes: the declared type of a download is not trusted. */
const SIGNATURES: ReadonlyArray<{ type: FileType; test: (bytes: Uint8Array) => boolean }> = [
  { type: { contentType: "image/png", kind: "image" }, test: (b) => starts(b, [0x89, 0x50, 0x4e, 0x47]) },
  { type: { contentType: "image/jpeg", kind: "image" }, test: (b) => starts(b, [0xff, 0xd8, 0xff]) },
  { type: { contentType: "image/gif", kind: "image" }, test: (b) => ascii(b, 0, "GIF8") },
  {
    type: { contentType: "image/webp", kind: "image" },
    test: (b) => ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP"),
  },
  { type: { contentType: "image/bmp", kind: "image" }, test: (b) => ascii(b, 0, "BM") && b.length > 26 },
  { type: { contentType: "application/pdf", kind: "document" }, test: (b) => ascii(b, 0, "%PDF-") },
  {
    type: { contentType: "audio/wav", kind: "audio" },
    test: (b) => ascii(b, 0, "RIFF") && ascii(b, 8, "WAVE"),
  },
  { type: { contentType: "audio/mpeg", kind: "audio" }, test: (b) => ascii(b, 0, "ID3") },
  { type: { contentType: "video/mp4", kind: "video" }, test: (b) => ascii(b, 4, "ftyp") },
  { type: { contentType: "video/webm", kind: "video" }, test: (b) => starts(b, [0x1a, 0x45, 0xdf, 0xa3]) },
];

/** Documents told apart by their name (Office files are ZIPs; text has no signature). */
const DOCUMENT_EXTENSIONS: Readonly<Record<string, string>> = Object.freeze({
  ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  ".doc": "application/msword",
  ".txt": "text/plain",
  ".md": "text/markdown",
  ".csv": "text/csv",
  ".json": "application/json",
  ".html": "text/html",
  ".xml": "application/xml",
  ".py": "text/x-python",
  ".js": "text/javascript",
  ".ts": "text/plain",
});

const TEXT_TYPES = new Set([
  "text/plain",
  "text/markdown",
  "text/csv",
  "application/json",
  "text/html",
  "application/xml",
]);

/**
 * What a file is, from its bytes first, then its name, then (for text only) the declared type.
 * Undefined: not a type the proxy accepts.
 */
export function detectFileType(
  bytes: Uint8Array,
  filename?: string,
  declaredType?: string,
): FileType | undefined {
  const signed = SIGNATURES.find((signature) => signature.test(bytes));
  if (signed) return signed.type;
  const extension = filename ? extname(filename).toLowerCase() : "";
  const byName = DOCUMENT_EXTENSIONS[extension];
  const isZip = starts(bytes, [0x50, 0x4b, 0x03, 0x04]);
  if (byName && (isZip || !byName.includes("openxml"))) return { contentType: byName, kind: "document" };
  const declared = declaredType?.split(";")[0]?.trim().toLowerCase();
  if (declared && TEXT_TYPES.has(declared) && looksLikeText(bytes))
    return { contentType: declared, kind: "document" };
  return undefined;
}

/** A name with the right extension, for files that came without one. */
export function defaultName(type: FileType): string {
  const extension = type.contentType.split("/")[1]?.replace("jpeg", "jpg").replace(/^.*\./, "") ?? "bin";
  return `${type.kind}.${extension.length <= 5 ? extension : "bin"}`;
}

function starts(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((value, index) => bytes[index] === value);
}

function ascii(bytes: Uint8Array, offset: number, text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    if (bytes[offset + index] !== text.charCodeAt(index)) return false;
  }
  return true;
}

function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 4096);
  return !sample.includes(0);
}
