// Display pictures over MSN's P2P layer (MSNC1), the requester's side only:
// on a one-to-one switchboard we send an MSNSLP INVITE for the MSNObject,
// ACK what the owner sends (200 OK, data preparation, the picture), check
// its SHA1D and say BYE. Binary headers are P2Pv1: 48 bytes, little-endian,
// then a big-endian footer.

const enc = new TextEncoder();
const dec = new TextDecoder();
const PICTURE_GUID = "{A4268EEC-FEC5-49E5-95C3-F126696BDBF6}";
const CHUNK = 1202;
const MAX_OBJECT = 1 << 20; // a display picture is a few KiB; refuse more than 1 MiB
const ACK = 0x2;

// parseObject reads an <msnobj …/> into its attributes.
export function parseObject(xml) {
  const o = {};
  for (const m of (xml || "").matchAll(/(\w+)="([^"]*)"/g)) o[m[1]] = m[2];
  return o;
}

const rand32 = () => crypto.getRandomValues(new Uint32Array(1))[0];
function guid() {
  const h = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
  return `{${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}}`;
}
const base64 = (bytes) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));

function header(h) {
  const b = new Uint8Array(48);
  const v = new DataView(b.buffer);
  v.setUint32(0, h.sid, true); v.setUint32(4, h.id, true);
  v.setUint32(8, h.off, true); v.setUint32(16, h.total, true);
  v.setUint32(24, h.len, true); v.setUint32(28, h.flags, true);
  v.setUint32(32, h.f7, true); v.setUint32(36, h.f8, true); v.setUint32(40, h.f9, true);
  return b;
}

function readHeader(b) {
  const v = new DataView(b.buffer, b.byteOffset, 48);
  const u64 = (o) => v.getUint32(o, true) + v.getUint32(o + 4, true) * 2 ** 32;
  return { sid: v.getUint32(0, true), id: v.getUint32(4, true), off: u64(8), total: u64(16), len: v.getUint32(24, true),
    flags: v.getUint32(28, true), f7: v.getUint32(32, true), f8: v.getUint32(36, true), f9: u64(40) };
}

// fetchObject asks peer, already in the conversation on link (a Link to a
// switchboard), for the object published as xml and resolves with its bytes.
export function fetchObject(link, me, peer, xml, timeout = 60000) {
  return new Promise((resolve, reject) => {
    const sid = (rand32() % 0xFFFFFF00) + 4;
    const callID = guid();
    let nextID = (rand32() % 0x7FFFFFF0) + 4;
    const parts = new Map(); // "sid/id" → {h, buf, got}
    const mime = enc.encode(`MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: ${peer.toLowerCase()}\r\n\r\n`);

    const frame = (h, data, appID) => {
      const out = new Uint8Array(mime.length + 48 + data.length + 4);
      out.set(mime); out.set(header(h), mime.length); out.set(data, mime.length + 48);
      new DataView(out.buffer).setUint32(out.length - 4, appID, false);
      link.send("MSG", ["D"], out);
    };
    const sendMessage = (data, appID = 0) => {
      const h = { sid: 0, id: nextID++, total: data.length, flags: 0, f7: rand32(), f8: 0, f9: 0 };
      for (let off = 0; off === 0 || off < data.length; off += CHUNK) {
        const part = data.subarray(off, off + CHUNK);
        frame({ ...h, off, len: part.length }, part, appID);
      }
    };
    const ack = (h) => frame({ sid: h.sid, id: nextID++, off: 0, total: h.total, len: 0, flags: ACK, f7: h.id, f8: h.f7, f9: h.total }, new Uint8Array(0), 0);
    const slp = (start, type, body) => {
      const b = enc.encode(body);
      return enc.encode(`${start}\r\nTo: <msnmsgr:${peer}>\r\nFrom: <msnmsgr:${me}>\r\nVia: MSNSLP/1.0/TLP ;branch=${guid()}\r\n` +
        `CSeq: 0\r\nCall-ID: ${callID}\r\nMax-Forwards: 0\r\nContent-Type: ${type}\r\nContent-Length: ${b.length + 1}\r\n\r\n${body}\0`);
    };

    let done = false;
    const finish = (err, bytes) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      link.removeEventListener("command", onCommand);
      link.removeEventListener("close", onClose);
      if (err) reject(err); else resolve(bytes);
    };
    const timer = setTimeout(() => finish(new Error("the picture did not arrive")), timeout);
    const onClose = () => finish(new Error("the conversation closed"));

    const complete = async (h, data) => {
      ack(h);
      if (h.sid === 0) {
        const text = dec.decode(data);
        if (!text.includes(callID) && !text.includes(`SessionID: ${sid}`)) return;
        if (text.startsWith("MSNSLP/1.0 ") && !text.startsWith("MSNSLP/1.0 200")) finish(new Error("the picture was declined"));
        if (text.startsWith("BYE")) finish(new Error("the picture was not sent"));
        return;
      }
      if (h.sid !== sid || (h.total === 4 && data.every((b) => b === 0))) return; // data preparation
      const want = parseObject(xml).SHA1D;
      if (crypto.subtle && want) { // (crypto.subtle exists only on https: or localhost)
        const got = base64(new Uint8Array(await crypto.subtle.digest("SHA-1", data)));
        if (got !== want) { finish(new Error("the picture does not match its SHA1D")); return; }
      }
      sendMessage(slp(`BYE MSNMSGR:${peer} MSNSLP/1.0`, "application/x-msnmsgr-sessionclosebody", `SessionID: ${sid}\r\n\r\n`));
      finish(null, data);
    };

    const onCommand = (ev) => {
      const cmd = ev.detail;
      if (cmd.name !== "MSG" || !cmd.payload || cmd.args[0].toLowerCase() !== peer.toLowerCase()) return;
      const p = cmd.payload;
      let i = 0;
      while (i + 3 < p.length && !(p[i] === 13 && p[i + 1] === 10 && p[i + 2] === 13 && p[i + 3] === 10)) i++;
      if (!/application\/x-msnmsgrp2p/i.test(dec.decode(p.subarray(0, i)))) return;
      const bin = p.subarray(i + 4);
      if (bin.length < 52) return;
      const h = readHeader(bin);
      if (h.flags & (ACK | 0x1) || h.len === 0) return;
      if (48 + h.len + 4 > bin.length || h.off + h.len > h.total || h.total > MAX_OBJECT) return;
      const key = `${h.sid}/${h.id}`;
      let m = parts.get(key);
      if (!m) {
        if (h.off !== 0) return;
        m = { h, buf: new Uint8Array(h.total), got: 0 };
        parts.set(key, m);
      }
      if (h.off !== m.got || h.total !== m.h.total) return;
      m.buf.set(bin.subarray(48, 48 + h.len), h.off);
      m.got += h.len;
      if (m.got < m.h.total) return;
      parts.delete(key);
      complete(m.h, m.buf).catch((e) => finish(e));
    };

    link.addEventListener("command", onCommand);
    link.addEventListener("close", onClose);
    const ctx = base64(enc.encode(xml));
    sendMessage(slp(`INVITE MSNMSGR:${peer} MSNSLP/1.0`, "application/x-msnmsgr-sessionreqbody",
      `EUF-GUID: ${PICTURE_GUID}\r\nSessionID: ${sid}\r\nAppID: 1\r\nContext: ${ctx}\r\n\r\n`));
  });
}
