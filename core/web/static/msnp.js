// MSNP over the service's WebSocket relay: one Link per MSNP connection
// (the Notification server, or one Switchboard per conversation), commands
// parsed as the protocol frames them, and the sign-in of MSNP12.

import { challengeAnswer, PRODUCT_ID } from "./md5.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

// Server commands whose last parameter is the length of a payload that
// follows the line (MSNP12).
const PAYLOAD = new Set(["MSG", "UBX", "GCF", "NOT", "IPG", "UBN", "UUN"]);
const isError = (name) => /^\d{3}$/.test(name);

export const CAP_WEB_CLIENT = 0x200;
export const CAP_MSNC1 = 0x10000000;
const CAPS = CAP_WEB_CLIENT | CAP_MSNC1;
export const MAX_PAYLOAD = 1664;

export function encodeParam(s) {
  return encodeURIComponent(s).replace(/[!'()*~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}
export function decodeParam(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

// Parser turns a byte stream into commands: {name, args, payload}.
class Parser {
  constructor(onCommand) { this.buf = new Uint8Array(0); this.onCommand = onCommand; }
  feed(bytes) {
    const b = new Uint8Array(this.buf.length + bytes.length);
    b.set(this.buf); b.set(bytes, this.buf.length);
    let off = 0;
    for (;;) {
      let nl = -1;
      for (let i = off; i + 1 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10) { nl = i; break; }
      if (nl < 0) break;
      const words = dec.decode(b.subarray(off, nl)).split(" ");
      const name = words[0];
      let end = nl + 2, payload = null;
      if (PAYLOAD.has(name) && words.length > 1) {
        const len = parseInt(words[words.length - 1], 10);
        if (!(len >= 0) || len > 1 << 20) throw new Error("bad payload length in " + name);
        if (b.length < end + len) break;
        payload = b.slice(end, end + len);
        end += len;
      }
      off = end;
      this.onCommand({ name, args: words.slice(1), payload });
    }
    this.buf = b.slice(off);
  }
}

// Link is one MSNP connection through /web/relay. It survives a network
// blip: when the WebSocket breaks, it resumes the relay session, receiving
// what it missed and resending what the relay did not get.
export class Link extends EventTarget {
  // addr is the switchboard's host:port from XFR or RNG: in a cluster the
  // relay connects to the node that holds the conversation.
  constructor(server, addr) {
    super();
    this.server = server;
    this.trid = 0;
    this.id = null;
    this.got = 0;          // bytes received from the server
    this.acked = 0;
    this.sentLog = [];     // [offset, bytes] not yet known to have arrived
    this.sentTotal = 0;
    this.closed = false;
    this.waiting = new Map(); // trid → {resolve, reject, match}
    this.parser = new Parser((c) => this.dispatch(c));
    this.ready = new Promise((res, rej) => { this.readyRes = res; this.readyRej = rej; });
    this.connect(`server=${server}` + (addr ? `&addr=${encodeURIComponent(addr)}` : ""));
  }

  connect(query) {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/web/relay?${query}`);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onclose = (ev) => this.onWSClose(ev, ws);
  }

  onFrame(data) {
    if (typeof data === "string") {
      const [word, arg] = data.split(" ");
      if (word === "session") { this.id = arg; this.readyRes(); }
      if (word === "resumed") {
        const m = Number(arg);
        this.retries = 0;
        for (const [off, bytes] of this.sentLog) {
          if (off + bytes.length > m) this.ws.send(off >= m ? bytes : bytes.subarray(m - off));
        }
        this.sentLog = [];
        this.dispatchEvent(new CustomEvent("state", { detail: "online" }));
      }
      return;
    }
    const bytes = new Uint8Array(data);
    this.got += bytes.length;
    if (this.got - this.acked > 16384) { this.acked = this.got; this.ws.send("ack " + this.got); }
    try { this.parser.feed(bytes); } catch (e) { console.error(e); this.close(); }
  }

  onWSClose(ev, ws) {
    if (ws !== this.ws || this.closed) return;
    if (!this.id || ev.code === 1000 || ev.code === 4410 || ev.code === 1008) { this.finish(ev.reason || "closed"); return; }
    // A blip: try again, backing off, for as long as the relay keeps the
    // session (web.grace, a minute by default).
    this.retries = (this.retries || 0) + 1;
    if (this.retries > 14) { this.finish("connection lost"); return; }
    this.dispatchEvent(new CustomEvent("state", { detail: "reconnecting" }));
    const delay = Math.min(500 * 2 ** (this.retries - 1), 8000);
    setTimeout(() => { if (!this.closed) this.connect(`resume=${this.id}&got=${this.got}`); }, delay);
  }

  finish(reason) {
    if (this.closed) return;
    this.closed = true;
    if (!this.id) this.readyRej(new Error("cannot reach the server"));
    for (const w of this.waiting.values()) w.reject(new Error(reason));
    this.waiting.clear();
    this.dispatchEvent(new CustomEvent("close", { detail: reason }));
  }

  close() {
    if (this.closed) return;
    try { this.raw(enc.encode("OUT\r\n")); } catch {}
    this.ws.close(1000, "bye");
    this.finish("closed");
  }

  raw(bytes) {
    if (this.closed) throw new Error("not connected");
    this.sentLog.push([this.sentTotal, bytes]);
    this.sentTotal += bytes.length;
    // Keep what a resume may need to resend, but not forever.
    while (this.sentLog.length > 64) this.sentLog.shift();
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  // send writes "NAME trid args…" (and a payload) and returns the trid.
  send(name, args = [], payload = null) {
    const trid = ++this.trid;
    let line = [name, trid, ...args].join(" ");
    let body = null;
    if (payload !== null) {
      body = typeof payload === "string" ? enc.encode(payload) : payload;
      line += " " + body.length;
    }
    const head = enc.encode(line + "\r\n");
    const out = new Uint8Array(head.length + (body ? body.length : 0));
    out.set(head); if (body) out.set(body, head.length);
    this.raw(out);
    return trid;
  }

  // request sends a command and resolves with the reply carrying its trid
  // (an error code rejects).
  request(name, args = [], payload = null) {
    return new Promise((resolve, reject) => {
      if (this.closed) { reject(new Error("not connected")); return; }
      const trid = this.send(name, args, payload);
      this.waiting.set(String(trid), { resolve, reject, name });
      setTimeout(() => {
        const w = this.waiting.get(String(trid));
        if (w) { this.waiting.delete(String(trid)); w.reject(new Error(`no answer to ${name}`)); }
      }, 30000);
    });
  }

  dispatch(cmd) {
    const trid = cmd.args[0];
    const w = trid !== undefined && this.waiting.get(trid);
    // The reply to a request has its name and trid (or is an error code);
    // other commands with the same trid (ILN after CHG, IRO before ANS)
    // are notices.
    if (w && (isError(cmd.name) || cmd.name === w.name)) {
      this.waiting.delete(trid);
      if (isError(cmd.name)) {
        const e = new Error(errorText(cmd.name)); e.code = Number(cmd.name); w.reject(e);
      } else w.resolve(cmd);
      return;
    }
    this.dispatchEvent(new CustomEvent("command", { detail: cmd }));
  }
}

const ERRORS = {
  200: "The server did not understand that.", 201: "That is not a valid e-mail address.",
  205: "There is no such account on this server.", 206: "That name is not allowed.",
  207: "Already signed in.", 208: "That is not a valid e-mail address.", 209: "That name is not allowed.",
  210: "Your contact list is full.", 215: "That person is already on the list or in the conversation.",
  216: "That person is not on the list.", 217: "That person is not online.", 218: "Already in that mode.",
  219: "That person is on another list already.", 223: "Too many groups.", 224: "No such group.",
  229: "That group name is too long.", 280: "The switchboard refused you.", 500: "The server had a problem.",
  600: "The server is busy.", 713: "You are doing that too often.", 800: "You are changing your name too often.",
  911: "The e-mail address or password is wrong.", 913: "Not allowed while you appear offline.",
};
export function errorText(code) { return ERRORS[code] || `The server refused it (error ${code}).`; }

// signIn runs the MSNP12 sign-in on a fresh Notification link: version,
// Passport ticket from /login2.srf (the only place the password goes), and
// the ticket to the server. The password is not kept.
export async function signIn(link, email, password) {
  await link.ready;
  const ver = await link.request("VER", ["MSNP12", "CVR0"]);
  if (ver.args[1] !== "MSNP12") throw new Error("The server does not speak MSNP12.");
  await link.request("CVR", ["0x0409", "winnt", "5.1", "i386", "MSNMSGR", "7.5.0324", "msmsgs", email]);
  const usr = await link.request("USR", ["TWN", "I", email]);
  if (usr.name !== "USR" || usr.args[2] !== "S") throw new Error("Unexpected answer to sign-in: " + usr.name);
  const params = usr.args.slice(3).join(" ");
  const auth = `Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=${encodeParam(email)},pwd=${encodeParam(password)},${params}`;
  let res;
  try {
    res = await fetch("/login2.srf", { headers: { Authorization: auth }, cache: "no-store", credentials: "omit" });
  } catch {
    throw new Error("Cannot reach the sign-in service.");
  }
  if (res.status === 401) { const e = new Error(errorText(911)); e.code = 911; throw e; }
  if (!res.ok) throw new Error(`The sign-in service answered ${res.status}.`);
  const info = res.headers.get("Authentication-Info") || "";
  const m = /from-PP='([^']*)'/.exec(info);
  if (!m) throw new Error("The sign-in service sent no ticket.");
  const ok = await link.request("USR", ["TWN", "S", m[1]]);
  if (ok.args[1] !== "OK") throw new Error("Sign-in refused.");
}

// initialStatus sets the first status with the Web Messenger capability.
export function caps() { return String(CAPS); }

export function answerChallenge(link, challenge) {
  link.send("QRY", [PRODUCT_ID], challengeAnswer(challenge));
}

// MIME messages of a conversation.
export function textMessage(text, fmt) {
  const ef = (fmt.bold ? "B" : "") + (fmt.italic ? "I" : "") + (fmt.underline ? "U" : "") + (fmt.strike ? "S" : "");
  const co = fmt.color ? fmt.color.slice(5, 7) + fmt.color.slice(3, 5) + fmt.color.slice(1, 3) : "0"; // #RRGGBB → BBGGRR
  return "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n" +
    `X-MMS-IM-Format: FN=${encodeParam(fmt.font || "Segoe UI")}; EF=${ef}; CO=${co}; CS=0; PF=0\r\n\r\n` + text;
}
export function typingMessage(email) {
  return `MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: ${email}\r\n\r\n\r\n`;
}
export const nudgeMessage = "MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n";

// parseMime splits a MSG payload into lower-cased headers and body text.
export function parseMime(bytes) {
  const s = dec.decode(bytes);
  const i = s.indexOf("\r\n\r\n");
  const head = i < 0 ? s : s.slice(0, i);
  const body = i < 0 ? "" : s.slice(i + 4);
  const headers = {};
  for (const line of head.split("\r\n")) {
    const c = line.indexOf(":");
    if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  return { headers, body };
}

// parseFormat reads X-MMS-IM-Format into {font, bold, italic, underline, strike, color}.
export function parseFormat(value) {
  const f = {};
  for (const part of (value || "").split(";")) {
    const [k, v = ""] = part.trim().split("=");
    if (k === "FN") f.font = decodeParam(v);
    if (k === "EF") { f.bold = v.includes("B"); f.italic = v.includes("I"); f.underline = v.includes("U"); f.strike = v.includes("S"); }
    if (k === "CO" && /^[0-9a-fA-F]{1,6}$/.test(v)) {
      const bgr = v.padStart(6, "0");
      f.color = "#" + bgr.slice(4, 6) + bgr.slice(2, 4) + bgr.slice(0, 2);
    }
  }
  return f;
}

// splitText cuts text into pieces whose message fits a switchboard.
export function splitText(text, fmt) {
  const room = MAX_PAYLOAD - enc.encode(textMessage("", fmt)).length;
  const out = [];
  let cur = "";
  for (const ch of text) {
    if (enc.encode(cur + ch).length > room) { out.push(cur); cur = ""; }
    cur += ch;
  }
  if (cur || !out.length) out.push(cur);
  return out;
}

// psmPayload is the UUX payload that sets a personal message.
export function psmPayload(text) {
  const esc = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `<Data><PSM>${esc}</PSM><CurrentMedia></CurrentMedia></Data>`;
}
export function parsePSM(bytes) {
  const m = /<PSM>([\s\S]*?)<\/PSM>/.exec(dec.decode(bytes));
  if (!m) return "";
  return m[1].replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d))).replace(/&amp;/g, "&");
}
