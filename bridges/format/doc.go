// Package format converts chat text between MSN Messenger and the networks
// the bridges connect it to: Discord markdown and Matrix HTML.
//
// MSN text is plain text with one formatting for the whole message — the
// X-MMS-IM-Format header (font, bold, italic, underline, strikethrough,
// colour), [message.Format] — so the conversions work like this:
//
//   - Towards MSN ([DiscordToMSN], [MatrixToMSN]): formatting that covers the
//     whole message becomes the message's X-MMS-IM-Format; formatting of a
//     part of it stays readable in plain text, with the markers people
//     typed before chat programs drew them: *bold*, _italic_, ~strike~,
//     `code`. Discord mentions, channels, roles, custom emoji and timestamps
//     are written out as names ("@Alice", "#general", ":blob:").
//   - From MSN ([MSNToDiscord], [MSNToMatrix]): the text is escaped so that
//     nothing in it is taken for markup, and the whole-message formatting is
//     put around it.
//
// MSN emoticon codes such as :) (Y) or (*) are text on every side and stay
// as they were typed; the parsers never take the * of (*) or the | of :| for
// markup.
//
// Every function here takes text from the network: none of them panics,
// and their work is bounded — markup is read from at most MaxMarkup bytes
// of a message (the rest is taken as plain text) and nesting is followed
// to a fixed depth.
package format
