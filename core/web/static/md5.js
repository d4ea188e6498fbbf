// MD5 (RFC 1321) and the MSNP challenge answers (CHL/QRY). Browsers have no
// MD5 of their own and the protocol needs one.

const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);

const utf8 = new TextEncoder();

// md5 returns the 16-byte digest of a string (UTF-8) or a Uint8Array.
export function md5(input) {
  const bytes = typeof input === "string" ? utf8.encode(input) : input;
  const n = bytes.length;
  const blocks = ((n + 8) >>> 6) + 1;
  const m = new Int32Array(blocks * 16);
  for (let i = 0; i < n; i++) m[i >> 2] |= bytes[i] << ((i % 4) * 8);
  m[n >> 2] |= 0x80 << ((n % 4) * 8);
  m[blocks * 16 - 2] = (n * 8) | 0;
  m[blocks * 16 - 1] = Math.floor(n / 2 ** 29);
  let a0 = 0x67452301, b0 = 0xefcdab89 | 0, c0 = 0x98badcfe | 0, d0 = 0x10325476;
  for (let blk = 0; blk < m.length; blk += 16) {
    let a = a0, b = b0, c = c0, d = d0;
    for (let i = 0; i < 64; i++) {
      let f, g;
      switch (i >> 4) {
        case 0: f = (b & c) | (~b & d); g = i; break;
        case 1: f = (d & b) | (~d & c); g = (5 * i + 1) % 16; break;
        case 2: f = b ^ c ^ d; g = (3 * i + 5) % 16; break;
        default: f = c ^ (b | ~d); g = (7 * i) % 16;
      }
      const x = (a + f + K[i] + m[blk + g]) | 0;
      const s = S[(i >> 4) * 4 + (i % 4)];
      a = d; d = c; c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0; b0 = (b0 + b) | 0; c0 = (c0 + c) | 0; d0 = (d0 + d) | 0;
  }
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  [a0, b0, c0, d0].forEach((w, i) => dv.setInt32(i * 4, w, true));
  return out;
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The product key MSN Messenger 7.0 answers MSNP11–12 challenges with.
export const PRODUCT_ID = "PROD0090YUAUV{2B";
const PRODUCT_KEY = "YMM8C_H7KCQ2S_KL";

// challengeAnswer is the 32 hex characters of "QRY trid PRODUCT_ID 32" for
// "CHL 0 challenge" in MSNP11 and later.
export function challengeAnswer(challenge, productId = PRODUCT_ID, productKey = PRODUCT_KEY) {
  const h = new DataView(md5(challenge + productKey).buffer);
  const H = [0, 1, 2, 3].map((i) => BigInt(h.getUint32(i * 4, true)));
  const M = H.map((x) => x & 0x7fffffffn);
  let s = challenge + productId;
  s += "0".repeat(8 - (s.length % 8));
  const sb = utf8.encode(s);
  const sv = new DataView(sb.buffer);
  const C = [];
  for (let i = 0; i + 4 <= sb.length; i += 4) C.push(BigInt(sv.getUint32(i, true)));
  const P = 0x7fffffffn;
  let high = 0n, low = 0n;
  for (let i = 0; i < C.length - 1; i += 2) {
    const temp = (M[0] * (((0x0e79a9c1n * C[i]) % P) + high) + M[1]) % P;
    high = (M[2] * ((C[i + 1] + temp) % P) + M[3]) % P;
    low += high + temp;
  }
  high = (high + M[1]) % P;
  low = (low + M[3]) % P;
  const out = new Uint8Array(16);
  const ov = new DataView(out.buffer);
  [H[0] ^ high, H[1] ^ low, H[2] ^ high, H[3] ^ low].forEach((w, i) => ov.setUint32(i * 4, Number(w & 0xffffffffn), true));
  return hex(out);
}
