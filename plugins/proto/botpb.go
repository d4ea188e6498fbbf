// Package botpb is the contract between the bot host and bots: the Go code
// generated from bot.proto (the Bot and Host gRPC services), and the
// go-plugin handshake both sides must agree on.
//
// bot.proto is the source of truth; a bot in another language is written
// from it alone. Regenerate the Go code with `make generate` after changing
// it.
package botpb

//go:generate ./generate.sh

// The go-plugin handshake. The host puts MagicCookieKey=MagicCookieValue in
// the bot's environment; a bot checks it to refuse being run by hand, and
// answers on stdout with the line
//
//	1|ProtocolVersion|unix|/path/to/socket|grpc|base64-DER-certificate
//
// (the last field is its AutoMTLS certificate).
const (
	ProtocolVersion  = 1
	MagicCookieKey   = "NUDGE_BOT_PLUGIN"
	MagicCookieValue = "b0ee4a1c-nudge-bot-v1"
)

// PluginName is the name the bot is dispensed under in go-plugin's plugin
// set. Only Go code sees it.
const PluginName = "bot"
