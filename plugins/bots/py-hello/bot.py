"""py-hello is a Nudge bot written in Python, to show that a bot can be
written in any language from plugins/proto/bot.proto: add
py-hello@bots.localhost and say hello. "count" shows the key-value store the
host keeps for every bot."""

import sys

sys.dont_write_bytecode = True  # the bot's folder may be read-only (a sandbox)

from nudge_bot import log, serve  # noqa: E402


class Hello:
    name = "py-hello"

    def on_start(self, req, host):
        """Gets the StartRequest: the bot's name, its account, its settings
        from nudge.yaml."""
        self.name = req.self.friendly_name or req.name
        log("info", "py-hello started", email=req.self.email)

    def on_message(self, ev, host):
        """Gets a MessageEvent and the Host."""
        text = ev.text.strip()
        who = ev.sender.friendly_name or ev.sender.email

        def reply(t):
            # An offline message (ev.sent_unix_ms set) has no conversation:
            # the answer goes to its sender.
            if ev.conversation_id:
                target = {"conversation_id": ev.conversation_id}
            else:
                target = {"email": ev.sender.email}
            host.SendMessage(target=target, text=t)

        if text.lower() == "count":
            got = host.KVGet(key="count")
            n = (int(got.value.decode()) if got.found else 0) + 1
            host.KVSet(key="count", value=str(n).encode())
            reply("You have asked me to count %d time%s." % (n, "" if n == 1 else "s"))
            return
        reply('Hello, %s! I am %s, a bot written in Python. Say "count" to see me remember.' % (who, self.name))

    def on_nudge(self, ev, host):
        host.SendNudge(conversation_id=ev.conversation_id)


if __name__ == "__main__":
    serve(Hello())
