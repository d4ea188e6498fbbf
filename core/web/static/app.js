// The Web Messenger: contact list, conversations and dialogs, on top of
// msnp.js. Plain DOM, no framework: what it shows is built from the state
// below whenever the server says something changed.

import {
  Link, signIn, caps, answerChallenge, encodeParam, decodeParam, errorText, textMessage, typingMessage,
  nudgeMessage, parseMime, parseFormat, splitText, psmPayload, parsePSM, CAP_WEB_CLIENT,
} from "./msnp.js";
import { fetchObject, parseObject } from "./p2p.js";

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
};

// ---- state ----
const FL = 1, AL = 2, BL = 4, RL = 8, PL = 16;
const STATUS = {
  NLN: ["Online", "online"], BSY: ["Busy", "busy"], BRB: ["Be right back", "away"], AWY: ["Away", "away"],
  PHN: ["On the phone", "busy"], LUN: ["Out to lunch", "away"], IDL: ["Idle", "away"], HDN: ["Appear offline", "offline"],
  FLN: ["Offline", "offline"],
};
const FONTS = ["Segoe UI", "Arial", "Comic Sans MS", "Courier New", "Georgia", "Tahoma", "Times New Roman", "Verdana"];

let ns = null;
let me = { email: "", name: "", status: "NLN", psm: "" };
let contacts = new Map(); // lower-case email → contact
let groups = [];          // [{id, name}]
const convs = new Map();  // id → Conversation
let active = null;
let convSeq = 0;
const collapsed = new Set(); // groups the user closed
let pingTimer = null;
let pending = readLink(new URLSearchParams(location.search));
const fmt = loadFormat();

function contact(email) {
  const k = email.toLowerCase();
  let c = contacts.get(k);
  if (!c) { c = { email, name: email, lists: 0, groups: [], guid: "", status: "FLN", psm: "", caps: 0 }; contacts.set(k, c); }
  return c;
}
const nameOf = (email) => contacts.get(email.toLowerCase())?.name || email;

function loadFormat() {
  try { return { bold: false, italic: false, underline: false, strike: false, color: "#000000", font: "Segoe UI", ...JSON.parse(localStorage.getItem("format") || "{}") }; }
  catch { return { font: "Segoe UI", color: "#000000" }; }
}
function saveFormat() { localStorage.setItem("format", JSON.stringify(fmt)); }

// ---- msnim: links ----
// msnim:chat?contact=x and msnim:add?contact=x arrive as ?uri=msnim:… (the
// registered protocol handler), or as ?chat=x / ?add=x (plain links).
function readLink(q) {
  let uri = q.get("uri");
  if (uri) {
    uri = uri.replace(/^web\+msnim:/i, "msnim:");
    const m = /^msnim:(chat|add|voice|video)\?contact=([^&]+)/i.exec(uri);
    if (m) return { action: m[1].toLowerCase() === "add" ? "add" : "chat", contact: decodeParam(m[2]).trim() };
  }
  for (const action of ["chat", "add"]) if (q.get(action)) return { action, contact: q.get(action).trim() };
  return null;
}
const validEmail = (s) => /^[^\s@"<>]+@[^\s@"<>]+$/.test(s) && s.length <= 129;

function runPending() {
  const p = pending; pending = null;
  if (!p || !validEmail(p.contact)) return;
  history.replaceState(null, "", location.pathname);
  if (p.action === "add") showAddContact(p.contact);
  else openConversation([p.contact], true);
}

// ---- sign in / out ----
$("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const email = $("email").value.trim(), pw = $("password").value;
  $("signin-error").textContent = "";
  $("signin-button").disabled = true;
  $("signin-button").textContent = "Signing in…";
  try {
    await start(email, pw, $("signin-status").value);
  } catch (e) {
    const link = ns;
    ns = null;
    if (link) link.close();
    $("signin-error").textContent = e.message || String(e);
  } finally {
    $("password").value = ""; // not kept, not even in the form
    $("signin-button").disabled = false;
    $("signin-button").textContent = "Sign in";
  }
});

async function start(email, password, status) {
  const link = new Link("ns");
  ns = link;
  link.addEventListener("command", (e) => onNS(e.detail));
  link.addEventListener("state", (e) => netState(e.detail));
  link.addEventListener("close", (e) => { if (ns === link) signedOut(e.detail); });
  await signIn(link, email, password);
  me = { email, name: email, status, psm: "" };
  contacts = new Map(); groups = [];
  await link.request("SYN", ["0", "0"]);
  await link.request("CHG", [status, caps(), "0"]);
  pingTimer = setInterval(() => { try { ns.raw(new TextEncoder().encode("PNG\r\n")); } catch {} }, 45000);
  $("signin").hidden = true;
  $("messenger").hidden = false;
  document.title = `${me.name} - Web Messenger`;
  renderMe(); renderContacts();
  $("filter").focus();
  runPending();
}

function signOut() {
  for (const c of [...convs.values()]) c.close();
  const link = ns; ns = null;
  if (link) link.close();
  signedOut("");
}

function signedOut(reason) {
  clearInterval(pingTimer);
  for (const c of [...convs.values()]) c.close();
  ns = null;
  $("messenger").hidden = true;
  $("signin").hidden = false;
  netState("");
  document.title = "Web Messenger";
  const why = { "OUT OTH": "You signed in somewhere else, so you were signed out here.", "OUT SSD": "The server is going down for maintenance." }[reason];
  $("signin-error").textContent = why || (reason && reason !== "closed" ? "You were signed out: " + reason : "");
  $("email").focus();
}

function netState(s) {
  $("netstate").textContent = s === "reconnecting" ? "Connection lost — reconnecting…" : "";
  $("app").classList.toggle("offline", s === "reconnecting");
}

// ---- the Notification server ----
function onNS(cmd) {
  const a = cmd.args;
  switch (cmd.name) {
    case "PRP": if (a[0] === "MFN") { me.name = decodeParam(a[1]); renderMe(); } else if (a[1] === "MFN") { me.name = decodeParam(a[2]); renderMe(); } break;
    case "LSG": groups.push({ name: decodeParam(a[0]), id: a[1] }); break;
    case "LST": {
      const f = {};
      let rest = [];
      for (const w of a) { const m = /^([NFC])=(.*)$/.exec(w); if (m) f[m[1]] = m[2]; else rest.push(w); }
      const c = contact(f.N);
      c.name = f.F ? decodeParam(f.F) : c.name;
      c.guid = f.C || "";
      c.lists = Number(rest[0]) || 0;
      c.groups = rest[1] ? rest[1].split(",") : [];
      break;
    }
    case "ILN": presence(a[1], a[2], a[3], a[4], a[5]); break;
    case "NLN": presence(a[0], a[1], a[2], a[3], a[4]); break;
    case "FLN": { const c = contact(a[0]); c.status = "FLN"; c.caps = 0; changed(c); break; }
    case "UBX": { const c = contact(a[0]); c.psm = parsePSM(cmd.payload || new Uint8Array()); changed(c); break; }
    case "ADC": onADC(a); break;
    case "REM": onREM(a); break;
    case "RNG": acceptInvitation(a); break;
    case "CHL": answerChallenge(ns, a[1]); break;
    case "OUT": signedOut("OUT " + (a[0] || "")); break;
  }
}

function presence(status, email, name, capsArg, msnobj) {
  const c = contact(email);
  const was = c.status;
  c.status = status; c.name = decodeParam(name || c.name); c.caps = Number(capsArg) || 0;
  c.msnobj = msnobj && msnobj !== "0" ? decodeParam(msnobj) : "";
  wantPicture(c);
  changed(c);
  if (was === "FLN" && status !== "FLN" && (c.lists & FL) && document.hidden) notify(`${c.name} has just signed in`, false);
}

// ---- display pictures ----
// A contact's picture is fetched from them over P2P (a switchboard of its
// own), once per SHA1D, one at a time and a few seconds apart: each fetch
// costs an XFR, which the service rate-limits.
const pictures = new Map(); // SHA1D → blob: URL
const failedAt = new Map(); // SHA1D → when its fetch failed (retried after 10 minutes)
const pictureQueue = [];
let fetching = false;

function pictureOf(c) {
  const o = parseObject(c.msnobj);
  return o.Type === "3" && o.SHA1D ? pictures.get(o.SHA1D) : undefined;
}

function wantPicture(c) {
  const o = parseObject(c.msnobj);
  if (o.Type !== "3" || !o.SHA1D || pictures.has(o.SHA1D) || Date.now() - (failedAt.get(o.SHA1D) || -Infinity) < 600000) return;
  if (!pictureQueue.includes(c)) pictureQueue.push(c);
  if (!fetching) nextPicture();
}

async function nextPicture() {
  const c = pictureQueue.shift();
  if (!c || !ns) { fetching = false; pictureQueue.length = 0; return; } // (signed out: forget the old list's)
  fetching = true;
  const o = parseObject(c.msnobj);
  if (c.status !== "FLN" && o.SHA1D && !pictures.has(o.SHA1D) && !(c.lists & BL)) {
    let link = null;
    try {
      const x = await ns.request("XFR", ["SB"]);
      link = new Link("sb", x.args[2]);
      const joined = new Promise((res, rej) => {
        link.addEventListener("command", (e) => { if (e.detail.name === "JOI") res(); });
        setTimeout(() => rej(new Error("they did not join")), 30000);
      });
      await link.ready;
      await link.request("USR", [me.email, x.args[4]]);
      await link.request("CAL", [c.email]);
      await joined;
      const bytes = await fetchObject(link, me.email, c.email, c.msnobj);
      pictures.set(o.SHA1D, URL.createObjectURL(new Blob([bytes], { type: "image/png" })));
      for (const d of contacts.values()) if (parseObject(d.msnobj).SHA1D === o.SHA1D) changed(d);
    } catch (e) {
      failedAt.set(o.SHA1D, Date.now());
      console.warn(`display picture of ${c.email}: ${e.message}`);
    } finally {
      if (link) link.close();
    }
  }
  setTimeout(nextPicture, 3000);
}

function changed(c) {
  renderContacts();
  for (const conv of convs.values()) if (conv.has(c.email)) conv.renderHead();
}

function onADC(a) {
  // ADC 0 RL N=email F=name: someone added us. ADC trid …: our own change
  // (the request already handled it, but other sessions' echoes land here).
  const list = a[1];
  const f = Object.fromEntries(a.slice(2).map((w) => [w[0], w.slice(2)]).filter(([k]) => "NFC".includes(k)));
  if (!f.N) return;
  const c = contact(f.N);
  if (f.F) c.name = decodeParam(f.F);
  c.lists |= { FL, AL, BL, RL, PL }[list] || 0;
  if (f.C) c.guid = f.C;
  renderContacts();
}

function onREM(a) {
  const list = a[1], who = a[2];
  for (const c of contacts.values()) {
    if (c.email.toLowerCase() === who?.toLowerCase() || (c.guid && c.guid === who)) {
      if (a[3] && list === "FL") c.groups = c.groups.filter((g) => g !== a[3]);
      else c.lists &= ~({ FL, AL, BL, RL, PL }[list] || 0);
    }
  }
  renderContacts();
}

// ---- list changes ----
async function addContact(email) {
  const c = contact(email);
  if (!(c.lists & FL)) {
    const r = await ns.request("ADC", ["FL", `N=${email}`, `F=${encodeParam(email)}`]);
    const g = r.args.find((w) => w.startsWith("C="));
    c.lists |= FL; if (g) c.guid = g.slice(2);
  }
  if (!(c.lists & (AL | BL))) { await ns.request("ADC", ["AL", `N=${email}`]); c.lists |= AL; }
  renderContacts();
}
async function removeContact(c) {
  await ns.request("REM", ["FL", c.guid || c.email]);
  c.lists &= ~FL; c.groups = [];
  renderContacts();
}
async function block(c) {
  if (c.lists & AL) { await ns.request("REM", ["AL", c.email]); c.lists &= ~AL; }
  if (!(c.lists & BL)) { await ns.request("ADC", ["BL", `N=${c.email}`]); c.lists |= BL; }
  renderContacts();
}
async function unblock(c) {
  if (c.lists & BL) { await ns.request("REM", ["BL", c.email]); c.lists &= ~BL; }
  if (!(c.lists & AL)) { await ns.request("ADC", ["AL", `N=${c.email}`]); c.lists |= AL; }
  renderContacts();
}
async function setStatus(st) {
  await ns.request("CHG", [st, caps(), "0"]);
  me.status = st; renderMe();
}
async function setName(name) {
  await ns.request("PRP", ["MFN", encodeParam(name)]);
  me.name = name; renderMe();
}
async function setPSM(text) {
  await ns.request("UUX", [], psmPayload(text));
  me.psm = text; renderMe();
}

// ---- rendering: me and the contact list ----
function statusIcon(c) {
  const kind = STATUS[c.status]?.[1] || "offline";
  return (c.caps & CAP_WEB_CLIENT) && kind !== "offline" ? `status-${kind}-web.svg` : `status-${kind}.svg`;
}

function renderMe() {
  $("my-name").textContent = me.name;
  $("my-psm").textContent = me.psm || "<Type a personal message>";
  $("my-psm").classList.toggle("placeholder", !me.psm);
  $("my-status").value = me.status;
  $("my-status-icon").src = statusIcon({ status: me.status, caps: CAP_WEB_CLIENT });
  document.title = `${me.name} - Web Messenger`;
}

function renderContacts() {
  const list = $("contact-list");
  const filter = $("filter").value.trim().toLowerCase();
  list.replaceChildren();
  const fl = [...contacts.values()].filter((c) => c.lists & FL)
    .filter((c) => !filter || c.name.toLowerCase().includes(filter) || c.email.toLowerCase().includes(filter))
    .sort((x, y) => x.name.localeCompare(y.name));
  const sections = groups.map((g) => ({ id: g.id, name: g.name, members: fl.filter((c) => c.groups.includes(g.id)) }));
  sections.push({ id: "", name: "Other Contacts", members: fl.filter((c) => !c.groups.some((g) => groups.find((x) => x.id === g))) });
  for (const s of sections) {
    if (!s.members.length && s.id === "") continue;
    const online = s.members.filter((c) => c.status !== "FLN");
    const offline = s.members.filter((c) => c.status === "FLN");
    const ul = el("ul", { class: "group-members" });
    for (const c of [...online, ...offline]) ul.append(contactItem(c));
    const d = el("details", { class: "group", "data-group": s.id },
      el("summary", { text: `${s.name} (${online.length}/${s.members.length})` }), ul);
    d.open = filter !== "" || !collapsed.has(s.id);
    d.addEventListener("toggle", () => { if (!filter) d.open ? collapsed.delete(s.id) : collapsed.add(s.id); });
    list.append(d);
  }
  if (!fl.length) list.append(el("p", { class: "empty", text: filter ? "No contact matches." : "No contacts yet: add one to start." }));
  renderRequests();
}

function contactItem(c) {
  const st = STATUS[c.status]?.[0] || "Offline";
  const blocked = c.lists & BL;
  const label = `${c.name}, ${blocked ? "blocked, " : ""}${st}${(c.caps & CAP_WEB_CLIENT) && c.status !== "FLN" ? ", on the Web Messenger" : ""}${c.psm ? ", " + c.psm : ""}`;
  return el("li", { class: "contact " + (c.status === "FLN" ? "is-offline" : "") },
    el("button", { class: "contact-open", type: "button", "aria-label": label, "data-email": c.email, onclick: () => openConversation([c.email], true) },
      el("img", { class: "status-icon", src: statusIcon(c), alt: "", width: 16, height: 16 }),
      pictureOf(c) ? el("img", { class: "contact-dp", src: pictureOf(c), alt: "", width: 24, height: 24 }) : null,
      el("span", { class: "contact-name", text: c.name }),
      blocked ? el("span", { class: "badge", text: "blocked" }) : null,
      c.status !== "FLN" && c.status !== "NLN" ? el("span", { class: "contact-status", text: `(${st})` }) : null,
      c.psm ? el("span", { class: "contact-psm", text: c.psm }) : null),
    el("button", { class: "contact-more", type: "button", "aria-label": `More for ${c.name}`, onclick: () => showContactMenu(c) }, "⋯"));
}

// People who added us and whom we have neither allowed nor blocked.
function renderRequests() {
  const box = $("requests");
  box.replaceChildren();
  for (const c of contacts.values()) {
    if (!(c.lists & RL) || (c.lists & (AL | BL))) continue;
    box.append(el("div", { class: "request", role: "group", "aria-label": `${c.name} added you` },
      el("p", {}, el("strong", { text: c.name }), ` (${c.email}) has added you to their contact list.`),
      el("button", { class: "button primary small-button", type: "button", onclick: () => act(() => addContact(c.email)) }, "Accept"),
      el("button", { class: "button small-button", type: "button", onclick: () => act(() => block(c)) }, "Block")));
  }
}

async function act(fn) {
  try { await fn(); } catch (e) { alertBox(e.message); }
}

// ---- dialogs ----
function dialog(title, body, buttons) {
  const d = $("dialog");
  $("dialog-title").textContent = title;
  $("dialog-body").replaceChildren(...body);
  $("dialog-error").textContent = "";
  $("dialog-buttons").replaceChildren(...buttons.map(([label, fn, primary]) => el("button", {
    class: "button" + (primary ? " primary" : ""), type: primary ? "submit" : "button", value: label,
    onclick: async (ev) => {
      ev.preventDefault();
      if (!fn) { d.close(); return; }
      try { if ((await fn()) !== false) d.close(); } catch (e) { $("dialog-error").textContent = e.message; }
    },
  }, label)));
  d.showModal();
  const first = d.querySelector("input, select, textarea") || d.querySelector(".dialog-buttons .primary");
  if (first) first.focus();
}
function alertBox(msg) { dialog("Messenger", [el("p", { text: msg })], [["OK", null, true]]); }

function promptBox(title, label, value, onOK, type = "text") {
  const input = el("input", { id: "dialog-input", type, value, maxlength: 129 });
  dialog(title, [el("label", { for: "dialog-input", text: label }), input], [["OK", () => onOK(input.value.trim()), true], ["Cancel"]]);
  input.select();
}

function showAddContact(prefill = "") {
  promptBox("Add a contact", "Their e-mail address", prefill, async (v) => {
    if (!validEmail(v)) throw new Error("Type an e-mail address, like name@example.com.");
    await addContact(v);
  }, "email");
}

function showContactMenu(c) {
  const blocked = c.lists & BL;
  dialog(c.name, [el("p", { class: "small", text: c.email }), c.psm ? el("p", { text: c.psm }) : ""], [
    ["Send an instant message", () => { openConversation([c.email], true); }, true],
    [blocked ? "Unblock" : "Block", () => (blocked ? unblock(c) : block(c))],
    ["Remove from contacts", () => confirmBox(`Remove ${c.name} from your contacts?`, () => removeContact(c))],
    ["Cancel"],
  ]);
}
function confirmBox(text, fn) {
  setTimeout(() => dialog("Are you sure?", [el("p", { text })], [["Remove", fn, true], ["Cancel"]]), 0);
}

function showOptions() {
  const link = `${location.origin}/web/add/${encodeURIComponent(me.email)}`;
  dialog("Options", [
    el("p", {}, "Your “add me” page: ", el("a", { href: link, target: "_blank", rel: "noopener" }, link)),
    el("p", { class: "small", text: "Share it: people who open it can add you with Messenger or right here." }),
  ], [
    ["Open msnim: links here", () => { registerHandler(); return false; }],
    ["Sign out", () => signOut()],
    ["Close", null, true],
  ]);
}

function registerHandler() {
  const url = `${location.origin}/web/?uri=%s`;
  let done = false;
  for (const scheme of ["msnim", "web+msnim"]) {
    try { navigator.registerProtocolHandler(scheme, url); done = true; break; } catch {}
  }
  $("dialog-error").textContent = done ? "Your browser will ask whether to open msnim: links here." : "This browser does not let web pages open msnim: links.";
}

// ---- conversations ----
class Conversation {
  constructor(people) {
    this.id = "c" + ++convSeq;
    this.people = new Map(people.map((e) => [e.toLowerCase(), e])); // who is (or was) in it
    this.here = new Set();      // who is in the switchboard now
    this.link = null;
    this.opening = null;
    this.queue = [];
    this.unread = 0;
    this.typingTimers = new Map();
    this.lastTyping = 0;
    this.build();
    convs.set(this.id, this);
  }
  has(email) { return this.people.has(email.toLowerCase()); }
  names() { return [...this.people.values()].map(nameOf).join(", "); }

  build() {
    const panel = $("chat-template").content.firstElementChild.cloneNode(true);
    panel.id = "panel-" + this.id;
    panel.setAttribute("aria-labelledby", "tab-" + this.id);
    this.panel = panel;
    this.log = panel.querySelector(".log");
    this.input = panel.querySelector(".input");
    this.tab = el("button", { class: "tab", role: "tab", id: "tab-" + this.id, "aria-controls": panel.id, "aria-selected": "false", type: "button", tabindex: "-1",
      onclick: () => this.show(true), onkeydown: (e) => tabKeys(e) });
    $("tabs").append(this.tab);
    $("panels").append(panel);
    panel.querySelector(".back").onclick = () => $("app").classList.remove("chatting");
    panel.querySelector(".close-chat").onclick = () => this.close();
    panel.querySelector(".invite").onclick = () => this.showInvite();
    panel.querySelector(".nudge").onclick = () => this.nudge();
    panel.querySelector(".send-form").onsubmit = (e) => { e.preventDefault(); this.sendInput(); };
    this.input.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); this.sendInput(); } });
    this.input.addEventListener("input", () => this.typing());
    setupFormatBar(panel, this);
    this.renderHead();
  }

  renderHead() {
    const title = this.names();
    const first = contacts.get([...this.people.keys()][0]);
    this.tab.textContent = title + (this.unread ? ` (${this.unread})` : "");
    this.tab.classList.toggle("unread", this.unread > 0);
    this.panel.querySelector(".chat-title").textContent = title;
    const sub = this.people.size > 1 ? `${this.people.size} people` : first ? `${STATUS[first.status]?.[0] || "Offline"}${first.psm ? " — " + first.psm : ""}` : "";
    this.panel.querySelector(".chat-sub").textContent = sub;
    this.panel.querySelector(".dp").src = (this.people.size === 1 && first && pictureOf(first)) || "dp.svg";
  }

  show(focus) {
    for (const c of convs.values()) {
      c.panel.hidden = c !== this;
      c.tab.setAttribute("aria-selected", String(c === this));
      c.tab.tabIndex = c === this ? 0 : -1;
    }
    $("no-chat").hidden = true;
    active = this;
    this.unread = 0;
    this.renderHead();
    updateTitle();
    $("app").classList.add("chatting");
    if (focus) this.input.focus();
  }

  close() {
    if (this.link) this.link.close();
    this.link = null;
    this.tab.remove(); this.panel.remove();
    convs.delete(this.id);
    if (active === this) {
      active = null;
      const next = [...convs.values()].pop();
      if (next) next.show(false); else { $("no-chat").hidden = false; $("app").classList.remove("chatting"); }
    }
    updateTitle();
  }

  // connect opens a switchboard and invites everyone (XFR SB, USR, CAL).
  connect() {
    if (this.link && !this.link.closed) return Promise.resolve();
    if (this.opening) return this.opening;
    this.opening = (async () => {
      const x = await ns.request("XFR", ["SB"]);
      const link = this.attach(new Link("sb", x.args[2]));
      await link.ready;
      await link.request("USR", [me.email, x.args[4]]);
      const calls = [...this.people.values()].map((p) => link.request("CAL", [p]).catch((e) => {
        this.system(`${nameOf(p)} could not be invited: ${e.message}`);
      }));
      await Promise.all(calls);
      await this.waitFor(() => this.here.size > 0, 30000);
    })().finally(() => { this.opening = null; });
    return this.opening;
  }

  attach(link) {
    this.link = link;
    this.here = new Set();
    link.addEventListener("command", (e) => this.onSB(e.detail));
    link.addEventListener("close", () => { if (this.link === link) { this.link = null; this.here.clear(); } });
    return link;
  }

  waitFor(cond, ms) {
    return new Promise((res, rej) => {
      const t0 = Date.now();
      const tick = () => cond() ? res() : Date.now() - t0 > ms ? rej(new Error("Nobody joined the conversation.")) : setTimeout(tick, 100);
      tick();
    });
  }

  onSB(cmd) {
    const a = cmd.args;
    switch (cmd.name) {
      case "IRO": this.joined(a[3], a[4], true); break;
      case "JOI": this.joined(a[0], a[1], false); break;
      case "BYE": {
        this.here.delete(a[0].toLowerCase());
        if (this.people.size > 1) this.system(`${nameOf(a[0])} has left the conversation.`);
        break;
      }
      case "MSG": this.onMessage(a[0], decodeParam(a[1]), cmd.payload); break;
      case "NAK": this.system("A message could not be delivered."); break;
    }
  }

  joined(email, name, quiet) {
    const k = email.toLowerCase();
    const isNew = !this.people.has(k);
    this.people.set(k, email);
    this.here.add(k);
    const c = contact(email);
    if (name && c.name === c.email) c.name = decodeParam(name);
    if (isNew && !quiet) this.system(`${nameOf(email)} has joined the conversation.`);
    this.renderHead();
  }

  onMessage(from, name, payload) {
    const { headers, body } = parseMime(payload);
    const type = (headers["content-type"] || "").split(";")[0].trim().toLowerCase();
    const who = contacts.get(from.toLowerCase())?.name || name || from;
    if (type === "text/x-msmsgscontrol") { this.showTyping(headers["typinguser"] || from, who); return; }
    if (type === "text/x-msnmsgr-datacast") {
      if (/^ID:\s*1\b/m.test(body)) { this.system(`${who} has just sent you a nudge!`); this.shake(); this.alert(`${who} sent you a nudge`, true); }
      return;
    }
    if (type !== "text/plain") return;
    this.clearTyping(from);
    this.append(who, body, parseFormat(headers["x-mms-im-format"]), false);
    this.alert(`${who} says: ${body}`, false);
  }

  alert(text, nudge) {
    const visible = active === this && !document.hidden;
    if (!visible) { this.unread++; this.renderHead(); }
    notify(text, nudge, !visible);
  }

  append(who, text, f, mine) {
    const line = el("div", { class: "msg" + (mine ? " mine" : "") },
      el("div", { class: "msg-who", text: `${who} says:` }));
    const body = el("div", { class: "msg-text" });
    renderText(body, text);
    if (f.font && FONTS.includes(f.font)) body.style.fontFamily = `"${f.font}", sans-serif`;
    if (f.bold) body.style.fontWeight = "bold";
    if (f.italic) body.style.fontStyle = "italic";
    const deco = [f.underline && "underline", f.strike && "line-through"].filter(Boolean).join(" ");
    if (deco) body.style.textDecoration = deco;
    if (f.color && /^#[0-9a-fA-F]{6}$/.test(f.color)) body.style.color = f.color;
    line.append(body);
    this.log.append(line);
    this.log.scrollTop = this.log.scrollHeight;
  }

  system(text) {
    this.log.append(el("div", { class: "msg system", text }));
    this.log.scrollTop = this.log.scrollHeight;
  }

  showTyping(email, who) {
    const k = email.toLowerCase();
    clearTimeout(this.typingTimers.get(k));
    this.typingTimers.set(k, setTimeout(() => this.clearTyping(k), 6000));
    this.typingNames = this.typingNames || new Map();
    this.typingNames.set(k, who);
    this.renderTyping();
  }
  clearTyping(email) {
    const k = email.toLowerCase();
    clearTimeout(this.typingTimers.get(k));
    this.typingTimers.delete(k);
    this.typingNames?.delete(k);
    this.renderTyping();
  }
  renderTyping() {
    const names = [...(this.typingNames?.values() || [])];
    this.panel.querySelector(".typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing a message…` : "";
  }

  async send(payload, kind = "N") {
    await this.connect();
    this.link.send("MSG", [kind], payload);
  }

  async sendInput() {
    const text = this.input.value.replace(/^\s*\n|\n\s*$/g, "");
    if (!text.trim()) return;
    this.input.value = "";
    this.lastTyping = 0;
    this.append(me.name, text, fmt, true);
    try {
      for (const part of splitText(text, fmt)) await this.send(textMessage(part, fmt));
    } catch (e) {
      this.system(`Your message could not be delivered: ${e.message}`);
    }
  }

  // typing tells the others, at most every four seconds; the first key
  // opens the switchboard, as Messenger did, so the message goes at once.
  typing() {
    const now = Date.now();
    if (!this.input.value || now - this.lastTyping < 4000) return;
    this.lastTyping = now;
    this.connect().then(() => this.link.send("MSG", ["U"], typingMessage(me.email))).catch(() => {});
  }

  async nudge() {
    const now = Date.now();
    if (now - (this.lastNudge || 0) < 3000) return;
    this.lastNudge = now;
    this.system("You have just sent a nudge!");
    this.shake();
    try { await this.send(nudgeMessage); } catch (e) { this.system(`The nudge could not be sent: ${e.message}`); }
  }

  shake() {
    const app = $("app");
    app.classList.remove("shake"); void app.offsetWidth; app.classList.add("shake");
    setTimeout(() => app.classList.remove("shake"), 900);
  }

  showInvite() {
    const online = [...contacts.values()].filter((c) => (c.lists & FL) && c.status !== "FLN" && !this.has(c.email));
    const select = el("select", { id: "dialog-input" }, ...online.map((c) => el("option", { value: c.email, text: `${c.name} (${c.email})` })));
    if (!online.length) { alertBox("None of your other contacts is online."); return; }
    dialog("Invite someone to this conversation", [el("label", { for: "dialog-input", text: "Contact" }), select], [
      ["Invite", async () => {
        const who = select.value;
        await this.connect();
        this.people.set(who.toLowerCase(), who);
        await this.link.request("CAL", [who]);
        this.renderHead();
      }, true], ["Cancel"]]);
  }
}

// openConversation shows the one-to-one conversation with people[0] (or a
// new group one), opening it if needed.
function openConversation(people, focus) {
  let conv = null;
  if (people.length === 1) conv = [...convs.values()].find((c) => c.people.size === 1 && c.has(people[0]));
  if (!conv) conv = new Conversation(people);
  conv.show(focus);
  return conv;
}

// RNG sessid host:port CKI cookie email name: someone invites us.
async function acceptInvitation(a) {
  const [sessid, addr, , cookie, from] = a;
  let conv = [...convs.values()].find((c) => c.people.size === 1 && c.has(from) && (!c.link || c.link.closed));
  const fresh = !conv;
  if (!conv) conv = new Conversation([from]);
  const link = conv.attach(new Link("sb", addr));
  try {
    await link.ready;
    await link.request("ANS", [me.email, cookie, sessid]);
  } catch (e) {
    conv.system(`Could not join the conversation: ${e.message}`);
  }
  if (fresh && !active) conv.show(false);
}

// ---- text: emoticons and formatting ----
const EMOTICONS = [
  [":)", "smile", "Smile"], [":-)", "smile"], [":D", "grin", "Big smile"], [":-D", "grin"], [";)", "wink", "Wink"], [";-)", "wink"],
  [":(", "sad", "Sad"], [":-(", "sad"], [":P", "tongue", "Tongue out"], [":-P", "tongue"], [":p", "tongue"],
  [":O", "surprised", "Surprised"], [":-O", "surprised"], [":o", "surprised"], ["(H)", "cool", "Hot"], ["(h)", "cool"],
  [":@", "angry", "Angry"], [":-@", "angry"], [":$", "blush", "Embarrassed"], [":-$", "blush"], [":|", "neutral", "Disappointed"],
  [":-|", "neutral"], ["(L)", "heart", "Red heart"], ["(l)", "heart"], ["(Y)", "thumbsup", "Thumbs up"], ["(y)", "thumbsup"],
  ["(N)", "thumbsdown", "Thumbs down"], ["(n)", "thumbsdown"], ["(*)", "star", "Star"], ["(S)", "moon", "Sleeping half-moon"],
];
const emoRE = new RegExp(EMOTICONS.map(([c]) => c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).sort((x, y) => y.length - x.length).join("|"), "g");
const emoByCode = new Map(EMOTICONS.map(([c, f, n]) => [c, { file: f, name: n || EMOTICONS.find((e) => e[1] === f)[2] }]));

function renderText(node, text) {
  let last = 0;
  for (const m of text.matchAll(emoRE)) {
    node.append(text.slice(last, m.index));
    const e = emoByCode.get(m[0]);
    node.append(el("img", { class: "emo", src: `emo/${e.file}.svg`, alt: m[0], title: `${e.name} ${m[0]}`, width: 19, height: 19 }));
    last = m.index + m[0].length;
  }
  node.append(text.slice(last));
}

function setupFormatBar(panel, conv) {
  const apply = () => {
    for (const b of panel.querySelectorAll(".fmt")) b.setAttribute("aria-pressed", String(!!fmt[b.dataset.fmt]));
    const s = conv.input.style;
    s.fontWeight = fmt.bold ? "bold" : ""; s.fontStyle = fmt.italic ? "italic" : "";
    s.textDecoration = [fmt.underline && "underline", fmt.strike && "line-through"].filter(Boolean).join(" ");
    s.color = fmt.color; s.fontFamily = `"${fmt.font}", sans-serif`;
  };
  for (const b of panel.querySelectorAll(".fmt")) b.onclick = () => { fmt[b.dataset.fmt] = !fmt[b.dataset.fmt]; saveFormat(); refreshFormats(); };
  const font = panel.querySelector(".font");
  for (const f of FONTS) font.append(el("option", { value: f, text: f }));
  font.value = fmt.font;
  font.onchange = () => { fmt.font = font.value; saveFormat(); refreshFormats(); };
  const colour = panel.querySelector(".colour");
  colour.value = fmt.color;
  colour.oninput = () => { fmt.color = colour.value; saveFormat(); refreshFormats(); };
  conv.applyFormat = () => { font.value = fmt.font; colour.value = fmt.color; apply(); };
  apply();

  const picker = panel.querySelector(".emo-picker");
  const button = panel.querySelector(".emo-button");
  for (const [code, file, name] of EMOTICONS) {
    if (!name) continue;
    picker.append(el("button", { type: "button", role: "menuitem", class: "emo-choice", "aria-label": `${name} ${code}`, title: `${name} ${code}`,
      onclick: () => { insertAtCursor(conv.input, code); picker.hidden = true; button.setAttribute("aria-expanded", "false"); conv.input.focus(); } },
    el("img", { src: `emo/${file}.svg`, alt: "", width: 22, height: 22 })));
  }
  button.onclick = () => {
    picker.hidden = !picker.hidden;
    button.setAttribute("aria-expanded", String(!picker.hidden));
    if (!picker.hidden) picker.querySelector("button").focus();
  };
  picker.addEventListener("keydown", (e) => {
    const items = [...picker.querySelectorAll("button")];
    const i = items.indexOf(document.activeElement);
    if (e.key === "Escape") { picker.hidden = true; button.setAttribute("aria-expanded", "false"); button.focus(); }
    if (e.key === "ArrowRight" || e.key === "ArrowDown") { e.preventDefault(); items[(i + 1) % items.length].focus(); }
    if (e.key === "ArrowLeft" || e.key === "ArrowUp") { e.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
  });
}
function refreshFormats() { for (const c of convs.values()) c.applyFormat(); }
function insertAtCursor(input, text) {
  const s = input.selectionStart ?? input.value.length, e = input.selectionEnd ?? s;
  input.value = input.value.slice(0, s) + text + input.value.slice(e);
  input.selectionStart = input.selectionEnd = s + text.length;
}

// Tabs: arrow keys move between conversations, as in any tab list.
function tabKeys(e) {
  const tabs = [...$("tabs").children];
  const i = tabs.indexOf(e.target);
  let j = -1;
  if (e.key === "ArrowRight") j = (i + 1) % tabs.length;
  if (e.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
  if (e.key === "Home") j = 0;
  if (e.key === "End") j = tabs.length - 1;
  if (j >= 0) { e.preventDefault(); tabs[j].focus(); tabs[j].click(); tabs[j].focus(); }
}

// ---- being told: the title, and a sound where the browser allows it ----
let audio = null;
let titleTimer = null;
let titleAlert = "";
document.addEventListener("pointerdown", unlockAudio, { once: true });
document.addEventListener("keydown", unlockAudio, { once: true });
function unlockAudio() { try { audio = audio || new AudioContext(); } catch {} }

function notify(text, nudge, flash = true) {
  if (audio && audio.state === "running") {
    const t = audio.currentTime;
    const notes = nudge ? [392, 330, 392, 330] : [660, 880];
    notes.forEach((f, i) => {
      const o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = f; o.type = "sine";
      g.gain.setValueAtTime(0.0001, t + i * 0.12);
      g.gain.exponentialRampToValueAtTime(0.15, t + i * 0.12 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.12 + 0.11);
      o.connect(g).connect(audio.destination);
      o.start(t + i * 0.12); o.stop(t + i * 0.12 + 0.12);
    });
  }
  if (flash) { titleAlert = text.length > 60 ? text.slice(0, 57) + "…" : text; updateTitle(); }
}

function updateTitle() {
  const unread = [...convs.values()].reduce((n, c) => n + c.unread, 0);
  const base = `${unread ? `(${unread}) ` : ""}${me.name || "Web"} - Web Messenger`;
  clearInterval(titleTimer);
  document.title = base;
  if (!unread) { titleAlert = ""; return; }
  let flip = false;
  titleTimer = setInterval(() => { flip = !flip; document.title = flip && titleAlert ? titleAlert : base; }, 1200);
}
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && active) { active.unread = 0; active.renderHead(); updateTitle(); }
});

// ---- wiring ----
$("my-status").addEventListener("change", () => act(() => setStatus($("my-status").value)));
$("my-name").addEventListener("click", () => promptBox("Change your name", "The name your contacts see", me.name, async (v) => {
  if (!v) throw new Error("Type a name.");
  await setName(v);
}));
$("my-psm").addEventListener("click", () => promptBox("Personal message", "Shown under your name", me.psm, (v) => setPSM(v)));
$("add-contact").addEventListener("click", () => showAddContact());
$("menu-button").addEventListener("click", () => showOptions());
$("filter").addEventListener("input", () => renderContacts());
window.addEventListener("beforeunload", () => { if (ns) ns.close(); });

if (pending && validEmail(pending.contact)) {
  const p = $("pending-link");
  p.hidden = false;
  p.textContent = pending.action === "add" ? `Sign in to add ${pending.contact} to your contacts.` : `Sign in to chat with ${pending.contact}.`;
}

// For the tests: the page's state, read-only.
window.messenger = { get me() { return me; }, pictures: () => Object.fromEntries(pictures), contacts: () => [...contacts.values()], conversations: () => [...convs.values()].map((c) => ({ id: c.id, people: [...c.people.values()], here: [...c.here], unread: c.unread })) };
