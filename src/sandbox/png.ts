/**
 * A tiny PNG encoder for the sandbox's `wxa/getwxacodeunlimit`: a 16x16
 * grid of the scene's SHA-256 bits, so each scene gets its own picture.
 * Not scannable; it only has to be a real PNG (RFC 2083).
 */

const MODULES = 16;
const QUIET = 2;
const SCALE = 8;
const SIZE = (MODULES + 2 * QUIET) * SCALE;

export async function scenePng(scene: string): Promise<Uint8Array<ArrayBuffer>> {
  const bits = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(scene)));
  // 8-bit greyscale scanlines, each led by filter type 0 (none).
  const raw = new Uint8Array((SIZE + 1) * SIZE);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const mx = Math.floor(x / SCALE) - QUIET;
      const my = Math.floor(y / SCALE) - QUIET;
      const inside = mx >= 0 && my >= 0 && mx < MODULES && my < MODULES;
      const bit = my * MODULES + mx;
      const dark = inside && (((bits[bit >> 3] ?? 0) >> (bit & 7)) & 1) === 1;
      raw[y * (SIZE + 1) + 1 + x] = dark ? 0 : 255;
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, SIZE);
  view.setUint32(4, SIZE);
  header.set([8, 0, 0, 0, 0], 8); // bit depth 8, greyscale, deflate, no filter set, no interlace
  return concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', await zlib(raw)),
    chunk('IEND', new Uint8Array()),
  ]);
}

/** PNG's IDAT is a zlib stream, which is what CompressionStream calls "deflate". */
async function zlib(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
