// goplugin.js is what any bot outside Go needs to be run by Nudge's bot
// host, written from the proto files alone: go-plugin's handshake, its
// automatic mutual TLS, the health and broker services, and a client of the
// Host service. bot.js is the bot itself; copy both to start your own.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const crypto = require("crypto");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const forge = require("node-forge");

// The handshake Nudge's host expects (plugins/proto/botpb.go).
const MAGIC_COOKIE_KEY = "NUDGE_BOT_PLUGIN";
const MAGIC_COOKIE_VALUE = "b0ee4a1c-nudge-bot-v1";
const APP_PROTOCOL_VERSION = 1;

// The protos: a copy in proto/ beside this file (for a bot moved out of
// the repository), else the repository's plugins/proto.
function protoDir() {
  for (const d of [path.join(__dirname, "proto"), path.join(__dirname, "..", "..", "proto")]) {
    if (fs.existsSync(path.join(d, "bot.proto"))) return d;
  }
  throw new Error("cannot find bot.proto");
}

function load() {
  const dir = protoDir();
  const opts = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [dir] };
  const def = protoLoader.loadSync(["bot.proto", "goplugin/plugin.proto", "goplugin/health.proto"], opts);
  return grpc.loadPackageDefinition(def);
}

// log writes a JSON line in the shape go-plugin reads from a plugin's
// standard error: the host keeps the level, the message and the fields.
function log(level, message, fields) {
  process.stderr.write(JSON.stringify({ "@level": level, "@message": message, ...(fields || {}) }) + "\n");
}

// selfSignedCert makes the bot's certificate for go-plugin's AutoMTLS: the
// host trusts exactly the certificate the bot prints in its handshake.
function selfSignedCert() {
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: "pkcs1", format: "pem" }));
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = "01" + crypto.randomBytes(8).toString("hex");
  cert.validity.notBefore = new Date(Date.now() - 30 * 1000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000);
  const name = [{ name: "commonName", value: "localhost" }, { name: "organizationName", value: "Nudge bot" }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
    { name: "extKeyUsage", serverAuth: true, clientAuth: true },
    { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }] },
  ]);
  cert.sign(key, forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), "binary");
  return {
    certPem: Buffer.from(forge.pki.certificateToPem(cert)),
    keyPem: Buffer.from(privateKey.export({ type: "pkcs8", format: "pem" })),
    // go-plugin decodes it with unpadded standard base64.
    certB64: der.toString("base64").replace(/=+$/, ""),
  };
}

// serve runs a bot: an object whose methods are the hooks it implements
// (onStart, onMessage, onTyping, onNudge, onContactAdded, onJoin, onLeave,
// onPresence, onStop), each given the event and a Host client.
function serve(bot) {
  if (process.env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
    console.error("This program is a Nudge bot: the bot host runs it (see bots in nudge.yaml).");
    process.exit(1);
  }
  const versions = (process.env.PLUGIN_PROTOCOL_VERSIONS || "").split(",").map(Number);
  if (!versions.includes(APP_PROTOCOL_VERSION)) {
    console.error(`bot protocol ${APP_PROTOCOL_VERSION} not offered by the host (${versions})`);
    process.exit(1);
  }
  watchHost();

  const pkg = load();
  const tls = selfSignedCert();
  const hostCert = Buffer.from(process.env.PLUGIN_CLIENT_CERT || "");
  if (hostCert.length === 0) {
    console.error("the host sent no PLUGIN_CLIENT_CERT: it must use AutoMTLS");
    process.exit(1);
  }

  // The broker: the host announces its services' addresses on this stream.
  const conns = new Map();
  const waiters = new Map();
  function brokered(id) {
    if (conns.has(id)) return Promise.resolve(conns.get(id));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the host did not offer service ${id}`)), 5000);
      waiters.set(id, (info) => { clearTimeout(t); resolve(info); });
    });
  }

  let host = null;
  const server = new grpc.Server();
  server.addService(pkg.plugin.GRPCBroker.service, {
    StartStream(call) {
      call.on("data", (info) => {
        const id = Number(info.service_id);
        conns.set(id, info);
        const w = waiters.get(id);
        if (w) { waiters.delete(id); w(info); }
      });
      call.on("error", () => {});
    },
  });
  server.addService(pkg.plugin.GRPCController.service, {
    Shutdown(_call, cb) {
      cb(null, {});
      setTimeout(() => process.exit(0), 10);
    },
  });
  server.addService(pkg.grpc.health.v1.Health.service, {
    Check(_call, cb) { cb(null, { status: "SERVING" }); },
    Watch(call) { call.write({ status: "SERVING" }); },
  });

  // Each hook: call the bot's method if it has one; errors go back to the
  // host, which logs them under the bot's name.
  const hook = (name) => (call, cb) => {
    const fn = bot[name];
    if (typeof fn !== "function") {
      cb({ code: grpc.status.UNIMPLEMENTED, message: `no ${name} hook` });
      return;
    }
    Promise.resolve()
      .then(() => fn.call(bot, call.request, host))
      .then(() => cb(null, {}))
      .catch((err) => cb({ code: grpc.status.UNKNOWN, message: String(err && err.message || err) }));
  };
  const hooks = {
    onMessage: "HOOK_MESSAGE", onTyping: "HOOK_TYPING", onNudge: "HOOK_NUDGE",
    onContactAdded: "HOOK_CONTACT_ADDED", onJoin: "HOOK_JOIN", onLeave: "HOOK_LEAVE", onPresence: "HOOK_PRESENCE",
  };
  server.addService(pkg.nudge.bot.v1.Bot.service, {
    async Start(call, cb) {
      try {
        const info = await brokered(call.request.host_broker_id);
        host = hostClient(pkg, info, tls, hostCert);
        if (typeof bot.onStart === "function") await bot.onStart(call.request, host);
        cb(null, { hooks: Object.keys(hooks).filter((h) => typeof bot[h] === "function").map((h) => hooks[h]) });
      } catch (err) {
        cb({ code: grpc.status.UNKNOWN, message: String(err && err.message || err) });
      }
    },
    OnMessage: hook("onMessage"),
    OnTyping: hook("onTyping"),
    OnNudge: hook("onNudge"),
    OnContactAdded: hook("onContactAdded"),
    OnJoin: hook("onJoin"),
    OnLeave: hook("onLeave"),
    OnPresence: hook("onPresence"),
    Stop: hook("onStop"),
  });

  const dir = process.env.PLUGIN_UNIX_SOCKET_DIR || os.tmpdir();
  const sock = path.join(dir, `nudge-js-bot-${process.pid}.sock`);
  try { fs.unlinkSync(sock); } catch (_) { /* not there */ }
  const creds = grpc.ServerCredentials.createSsl(hostCert, [{ cert_chain: tls.certPem, private_key: tls.keyPem }], true);
  server.bindAsync("unix:" + sock, creds, (err) => {
    if (err) {
      console.error("cannot listen:", err.message);
      process.exit(1);
    }
    // The handshake line: core protocol, app protocol, network, address,
    // protocol, and our certificate.
    process.stdout.write(`1|${APP_PROTOCOL_VERSION}|unix|${sock}|grpc|${tls.certB64}\n`);
  });
}

// hostClient connects to the Host service the broker announced, with the
// same mutual TLS: we present our certificate, we trust only the host's.
function hostClient(pkg, info, tls, hostCert) {
  const target = info.network === "unix" ? "unix:" + info.address : info.address;
  const creds = grpc.credentials.createSsl(hostCert, tls.keyPem, tls.certPem);
  const c = new pkg.nudge.bot.v1.Host(target, creds, {
    "grpc.ssl_target_name_override": "localhost",
    "grpc.default_authority": "localhost",
  });
  // Promise versions of the calls: await host.SendMessage({...}).
  const host = {};
  for (const name of Object.keys(pkg.nudge.bot.v1.Host.service)) {
    host[name] = (req) => new Promise((resolve, reject) =>
      c[name](req || {}, { deadline: Date.now() + 30000 }, (err, res) => (err ? reject(err) : resolve(res))));
  }
  return host;
}

// watchHost exits when the host is gone (the kernel usually kills the bot
// first; this is for when it does not).
function watchHost() {
  const want = Number(process.env.NUDGE_HOST_PID) || process.ppid;
  setInterval(() => {
    if (process.ppid !== want) {
      log("error", "the bot host is gone; exiting");
      process.exit(3);
    }
  }, 1000).unref();
}

module.exports = { serve, log };
