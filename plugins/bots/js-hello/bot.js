// js-hello is a Nudge bot written in JavaScript, to show that a bot can be
// written in any language from plugins/proto/bot.proto: add
// js-hello@bots.localhost and say hello. "count" shows the key-value store
// the host keeps for every bot.
"use strict";

const { serve, log } = require("./goplugin");

let name = "js-hello";

serve({
  // onStart gets the StartRequest: the bot's name, its account, its
  // settings from nudge.yaml.
  async onStart(req) {
    name = req.self.friendly_name || req.name;
    log("info", "js-hello started", { email: req.self.email });
  },

  // onMessage gets a MessageEvent and the Host client.
  async onMessage(ev, host) {
    const text = ev.text.trim();
    const who = ev.sender.friendly_name || ev.sender.email;
    // An offline message (ev.sent_unix_ms set) has no conversation: the
    // answer goes to its sender.
    const target = ev.conversation_id ? { conversation_id: ev.conversation_id } : { email: ev.sender.email };
    const reply = (t) => host.SendMessage({ target, text: t });
    if (text.toLowerCase() === "count") {
      const got = await host.KVGet({ key: "count" });
      const n = (got.found ? Number(got.value.toString()) : 0) + 1;
      await host.KVSet({ key: "count", value: Buffer.from(String(n)) });
      return reply(`You have asked me to count ${n} time${n === 1 ? "" : "s"}.`);
    }
    return reply(`Hello, ${who}! I am ${name}, a bot written in JavaScript. Say "count" to see me remember.`);
  },

  async onNudge(ev, host) {
    await host.SendNudge({ conversation_id: ev.conversation_id });
  },
});
