import { deflateSync } from "node:zlib";

// Tiny but valid media files, so that clients which sniff or decode what they download
// (image previews, content-type checks) get real bytes rather than placeholders.

let cachedPng: Buffer | null = null;

/** A valid 4×4 RGB PNG (a small colour gradient). */
export function samplePng(): Buffer {
  if (cachedPng) return cachedPng;
  const width = 4;
  const height = 4;
  const rows: number[] = [];
  for (let y = 0; y < height; y += 1) {
    rows.push(0); // filter type "none" for every scanline
    for (let x = 0; x < width; x += 1) rows.push(x * 60, y * 60, 200);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit depth, truecolour, default compression/filter/interlace
  cachedPng = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", header),
    pngChunk("IDAT", deflateSync(Buffer.from(rows))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
  return cachedPng;
}

/** An ISO-BMFF header (ftyp) and an empty mdat box: enough to be recognised as MP4. */
export function sampleMp4(): Buffer {
  const ftyp = Buffer.concat([
    Buffer.from([0, 0, 0, 0x18]),
    Buffer.from("ftypisom", "latin1"),
    Buffer.from([0, 0, 0x02, 0]),
    Buffer.from("isommp41", "latin1"),
  ]);
  const mdat = Buffer.concat([Buffer.from([0, 0, 0, 0x10]), Buffer.from("mdat", "latin1"), Buffer.alloc(8)]);
  return Buffer.concat([ftyp, mdat]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length, 0);
  const typeAndData = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE(crc32(typeAndData), 0);
  return Buffer.concat([length, typeAndData, checksum]);
}

let crcTable: Uint32Array | null = null;

function crc32(bytes: Buffer): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let index = 0; index < 256; index += 1) {
      let value = index;
      for (let bit = 0; bit < 8; bit += 1) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
      crcTable[index] = value >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (crcTable[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
