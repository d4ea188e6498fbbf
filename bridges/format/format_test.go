package format

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nudge-im/nudge/msnp/message"
)

// fmtString writes a format's effects as letters: "BI", "" for a format
// with none, "-" for no format.
func fmtString(f *message.Format) string {
	if f == nil {
		return "-"
	}
	var s []string
	for _, e := range []struct {
		on bool
		l  string
	}{{f.Bold, "B"}, {f.Italic, "I"}, {f.Underline, "U"}, {f.Strikethrough, "S"}, {f.Color != (message.Color{}), "C"}} {
		if e.on {
			s = append(s, e.l)
		}
	}
	return strings.Join(s, "")
}

func lookup(m map[string]string) func(string) string {
	return func(id string) string { return m[id] }
}

var testNames = &Names{
	User:    lookup(map[string]string{"80351110224678912": "Nelly"}),
	Channel: lookup(map[string]string{"103735883630395392": "general"}),
	Role:    lookup(map[string]string{"165511591545143296": "Moderators"}),
}

func TestDiscordToMSN(t *testing.T) {
	for _, tc := range []struct{ in, text, format string }{
		{"hello", "hello", "-"},
		{"**hello**", "hello", "B"},
		{"*hello*", "hello", "I"},
		{"_hello_", "hello", "I"},
		{"__hello__", "hello", "U"},
		{"~~hello~~", "hello", "S"},
		{"***hello***", "hello", "BI"},
		{"~~__**_all four_**__~~", "all four", "BIUS"},
		{"**hello** world", "*hello* world", "-"},
		{"say *hi* now", "say _hi_ now", "-"},
		{"a ~~b~~ c", "a ~b~ c", "-"},
		{"a __b__ c", "a _b_ c", "-"},
		{"**bold *both* bold**", "bold _both_ bold", "B"},
		{"**a** **b**", "a b", "B"},
		{"use `x*y*z` here", "use `x*y*z` here", "-"},
		{"``a ` b``", "`a ` b`", "-"},
		{"```go\nfunc main() {}\n```", "```\nfunc main() {}\n```", "-"},
		{"look:\n```\n**not bold**\n```", "look:\n```\n**not bold**\n```", "-"},
		{"unclosed **bold", "unclosed **bold", "-"},
		{"a * b * c", "a * b * c", "-"},
		{"snake_case_name", "snake_case_name", "-"},
		{`\*not italic\*`, "*not italic*", "-"},
		{`1 \\ 2`, `1 \ 2`, "-"},
		{"see https://example.com/a_b_c_d and *x*", "see https://example.com/a_b_c_d and _x_", "-"},
		{"<https://example.com/*x*>", "https://example.com/*x*", "-"},
		{"[the docs](https://example.com/docs)", "the docs (https://example.com/docs)", "-"},
		{"[https://a.b](https://a.b)", "https://a.b", "-"},
		{"hi <@80351110224678912>!", "hi @Nelly!", "-"},
		{"hi <@!80351110224678912>", "hi @Nelly", "-"},
		{"<@&165511591545143296> look", "@Moderators look", "-"},
		{"in <#103735883630395392>", "in #general", "-"},
		{"nice <:blobcat:123456789012345678> <a:party:99>", "nice :blobcat: :party:", "-"},
		{"<@1234>", "@1234", "-"},
		{"at <t:1618953630:R>", "at 20 April 2021 21:20 UTC", "-"},
		{"at <t:1618953630:t>", "at 21:20 UTC", "-"},
		{"run </msn contacts:42>", "run /msn contacts", "-"},
		{"||secret||", "||secret||", "-"},
		{"the end is ||secret||", "the end is ||secret||", "-"},
		{"MSN faces :) (Y) (*) :-| :| 8-| *-) (~)", "MSN faces :) (Y) (*) :-| :| 8-| *-) (~)", "-"},
		{"(*) and (*)", "(*) and (*)", "-"},
		{"**bold (*) star**", "bold (*) star", "B"},
		{":-* kiss *me*", ":-* kiss _me_", "-"},
		{"# Title\n> quote\n- item", "# Title\n> quote\n- item", "-"},
		{"", "", "-"},
		{"   ", "   ", "-"},
		{"**  **", "  ", "-"},
	} {
		text, f := DiscordToMSN(tc.in, testNames)
		if text != tc.text || fmtString(f) != tc.format {
			t.Errorf("DiscordToMSN(%q) = %q %s, want %q %s", tc.in, text, fmtString(f), tc.text, tc.format)
		}
	}
}

func TestDiscordToMSNNoNames(t *testing.T) {
	text, _ := DiscordToMSN("<@42> <#7> <@&9>", nil)
	if text != "@42 #7 @9" {
		t.Errorf("got %q", text)
	}
}

func TestMSNToDiscord(t *testing.T) {
	for _, tc := range []struct {
		in   string
		f    message.Format
		want string
	}{
		{"hello", message.Format{}, "hello"},
		{"hello", message.Format{Bold: true}, "**hello**"},
		{"hello", message.Format{Italic: true}, "*hello*"},
		{"hello", message.Format{Underline: true}, "__hello__"},
		{"hello", message.Format{Strikethrough: true}, "~~hello~~"},
		{"hello", message.Format{Bold: true, Italic: true, Underline: true, Strikethrough: true}, "~~__***hello***__~~"},
		{" padded ", message.Format{Bold: true}, " **padded** "},
		{"   ", message.Format{Bold: true}, "   "},
		{"font and colour only", message.Format{Font: "Comic Sans MS", Color: message.Color{R: 255}}, "font and colour only"},
		{"2*3*4 and snake_case", message.Format{}, `2\*3\*4 and snake\_case`},
		{"~~not struck~~ ||no spoiler||", message.Format{}, `\~\~not struck\~\~ \|\|no spoiler\|\|`},
		{"`code` and \\", message.Format{}, "\\`code\\` and \\\\"},
		{"<@123> @everyone [x](https://evil)", message.Format{}, `\<@123> @everyone \[x](https://evil)`},
		{"# not a heading\n> not a quote\n- not a list\n1. not numbered\n  -# small", message.Format{},
			"\\# not a heading\n\\> not a quote\n\\- not a list\n1\\. not numbered\n  \\-# small"},
		{"see https://example.com/a_b*c", message.Format{}, "see https://example.com/a_b*c"},
		{"MSN faces :) (Y) (*) :-|", message.Format{}, `MSN faces :) (Y) (\*) :-\|`},
		{"line one\nline two", message.Format{Bold: true}, "**line one\nline two**"},
	} {
		if got := MSNToDiscord(tc.in, tc.f); got != tc.want {
			t.Errorf("MSNToDiscord(%q, %+v) = %q, want %q", tc.in, tc.f, got, tc.want)
		}
	}
}

// TestDiscordRoundTrip checks that MSN text survives the way to Discord
// and back: what Discord shows is what the MSN user wrote, and the format
// comes back.
func TestDiscordRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		text string
		f    message.Format
	}{
		{"plain", message.Format{}},
		{"2*3*4 = 24, snake_case, ~tilde~, |pipe|, `tick`, <tag>, [x](y)", message.Format{}},
		{"# hash\n> gt\n- dash\n12. dot", message.Format{}},
		{"MSN faces :) (Y) (*) :-| :| 8-| *-) (~)", message.Format{}},
		{"bold", message.Format{Bold: true}},
		{"all of them", message.Format{Bold: true, Italic: true, Underline: true, Strikethrough: true}},
		{"italic with *stars* in it", message.Format{Italic: true}},
		{`back\slash`, message.Format{Underline: true}},
		{"https://example.com/a_b_c", message.Format{}},
	} {
		md := MSNToDiscord(tc.text, tc.f)
		text, f := DiscordToMSN(md, nil)
		want := tc.f
		want.Font, want.Color = "", message.Color{}
		got := message.Format{}
		if f != nil {
			got = *f
		}
		if text != tc.text || got != want {
			t.Errorf("%q %+v → %q → %q %+v", tc.text, tc.f, md, text, got)
		}
	}
}

func TestMSNToMatrix(t *testing.T) {
	for _, tc := range []struct {
		in         string
		f          message.Format
		body, html string
	}{
		{"hello", message.Format{}, "hello", ""},
		{"hello", message.Format{Font: "Arial"}, "hello", ""},
		{"hello", message.Format{Bold: true}, "hello", "<b>hello</b>"},
		{"a <b> & c\nd", message.Format{Italic: true, Strikethrough: true}, "a <b> & c\nd", "<i><del>a &lt;b&gt; &amp; c<br>d</del></i>"},
		{"red", message.Format{Color: message.Color{R: 255}}, "red", `<font color="#ff0000" data-mx-color="#ff0000">red</font>`},
		{"u", message.Format{Underline: true}, "u", "<u>u</u>"},
	} {
		body, html := MSNToMatrix(tc.in, tc.f)
		if body != tc.body || html != tc.html {
			t.Errorf("MSNToMatrix(%q, %+v) = %q, %q; want %q, %q", tc.in, tc.f, body, html, tc.body, tc.html)
		}
	}
}

func TestMatrixToMSN(t *testing.T) {
	for _, tc := range []struct{ body, html, text, format string }{
		{"plain", "", "plain", "-"},
		{"hello", "<b>hello</b>", "hello", "B"},
		{"hello", "<strong><em>hello</em></strong>", "hello", "BI"},
		{"x", "<u>x</u>", "x", "U"},
		{"x", "<del>x</del>", "x", "S"},
		{"x", "<s>x</s>", "x", "S"},
		{"a b c", "a <b>b</b> c", "a *b* c", "-"},
		{"a b c", "a <em>b</em> <del>c</del>", "a _b_ ~c~", "-"},
		{"all bold", "<b>all <i>and</i> bold</b>", "all _and_ bold", "B"},
		{"red", `<font color="#ff0000">red</font>`, "red", "C"},
		{"red", `<span data-mx-color="#f00">red</span>`, "red", "C"},
		{"red and", `<font color="#ff0000">red</font> and`, "red and", "-"},
		{"code", "use <code>a*b</code> now", "use `a*b` now", "-"},
		{"pre", "<pre><code class=\"language-go\">func main() {\n\tx := 1\n}\n</code></pre>", "```\nfunc main() {\n\tx := 1\n}\n```", "-"},
		{"two", "<p>one</p><p>two</p>", "one\n\ntwo", "-"},
		{"br", "line one<br>line two<br/>line three", "line one\nline two\nline three", "-"},
		{"q", "<blockquote>quoted<br>twice</blockquote>answer", "> quoted\n> twice\nanswer", "-"},
		{"list", "<ul><li>one</li><li>two</li></ul>", "- one\n- two", "-"},
		{"list", "<ol start=\"3\"><li>three</li><li>four</li></ol>", "3. three\n4. four", "-"},
		{"link", `see <a href="https://example.com">the site</a>`, "see the site (https://example.com)", "-"},
		{"link", `<a href="https://example.com">https://example.com</a>`, "https://example.com", "-"},
		{"pill", `<a href="https://matrix.to/#/@alice:example.org">Alice</a>: hi`, "Alice: hi", "-"},
		{"reply", `<mx-reply><blockquote>old stuff</blockquote></mx-reply>new answer`, "new answer", "-"},
		{"emote", `nice <img data-mx-emoticon src="mxc://x/y" alt=":blob:">`, "nice :blob:", "-"},
		{"xss", `<script>alert(1)</script><b onclick="x">safe</b>`, "safe", "B"},
		{"ws", "  lots   of\n\n  space  ", "lots of space", "-"},
		{"entities", "a &lt;b&gt; &amp; (*) :)", "a <b> & (*) :)", "-"},
		{"h", "<h1>Title</h1>text", "*Title*\ntext", "-"},
		{"spoiler", `the end: <span data-mx-spoiler>he lives</span>`, "the end: ||he lives||", "-"},
		{"broken", "<b>unclosed <i>tags", "unclosed _tags_", "B"},
	} {
		text, f := MatrixToMSN(tc.body, tc.html)
		if text != tc.text || fmtString(f) != tc.format {
			t.Errorf("MatrixToMSN(%q) = %q %s, want %q %s", tc.html, text, fmtString(f), tc.text, tc.format)
		}
	}
}

func TestMatrixRoundTrip(t *testing.T) {
	for _, f := range []message.Format{{}, {Bold: true}, {Italic: true, Underline: true}, {Strikethrough: true, Color: message.Color{R: 1, G: 2, B: 3}}} {
		in := "a <tag> & (*) :)\nsecond line"
		body, html := MSNToMatrix(in, f)
		text, got := MatrixToMSN(body, html)
		want := f
		g := message.Format{}
		if got != nil {
			g = *got
		}
		if text != in || g != want {
			t.Errorf("%+v: %q → %q → %q %+v", f, in, html, text, g)
		}
	}
}

func TestPlainName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Alice", "Alice"},
		{"[c=4]Red[/c] [b]fxBold[/b]", "Red fxBold"},
		{"[c=#ff0000]hex[/c=#00ff00] [a=12]bg[/a]", "hex bg"},
		{"·$4Plus·0 two·#", "Plus two"},
		{"·$#FF00FFpink ·$4,12pair", "pink pair"},
		{"[not a code] [c]", "[not a code] [c]"},
		{"tab\tand\x00control\n  spaces", "tab andcontrol spaces"},
		{"Ünïcødé 🙂", "Ünïcødé 🙂"},
		{"bad\xffbyte", "badbyte"},
	} {
		if got := PlainName(tc.in); got != tc.want {
			t.Errorf("PlainName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNudgeText(t *testing.T) {
	if got := NudgeText("Bob"); got != "Bob sent a nudge!" {
		t.Errorf("got %q", got)
	}
	if got := NudgeText(""); got != "Someone sent a nudge!" {
		t.Errorf("got %q", got)
	}
}

func FuzzDiscordToMSN(f *testing.F) {
	for _, s := range []string{"**a** _b_ __c__ ~~d~~ ||e|| `f` ```g\nh```", "<@1> <#2> <@&3> <:x:4> <t:5:R> </a:6>", "[a](https://b) https://c_d", `\*x\*`, "(*) :-| *-)", "***"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text, _ := DiscordToMSN(s, testNames)
		if utf8.ValidString(s) && !utf8.ValidString(text) {
			t.Fatalf("valid UTF-8 %q became invalid %q", s, text)
		}
		// What Discord would show of escaped MSN text is the text itself.
		if utf8.ValidString(s) {
			back, f := DiscordToMSN(EscapeDiscord(s), nil)
			if back != s || f != nil {
				t.Fatalf("escaped %q read back as %q %s", s, back, fmtString(f))
			}
		}
	})
}

func FuzzMatrixToMSN(f *testing.F) {
	for _, s := range []string{"<b>a</b>", "<p>x<br>y</p><pre>z</pre>", "<ol><li>1</li></ol><blockquote>q</blockquote>", `<a href="https://x">y</a>`, "<font color=#fff>c</font>", "<mx-reply>r</mx-reply>t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text, _ := MatrixToMSN("body", s)
		if utf8.ValidString(s) && !utf8.ValidString(text) {
			t.Fatalf("valid UTF-8 %q became invalid %q", s, text)
		}
	})
}

func FuzzPlainName(f *testing.F) {
	for _, s := range []string{"[c=4]x[/c]", "·$4,5y·0", "·$#abcdefz", "[a=#123]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := PlainName(s)
		if !utf8.ValidString(out) {
			t.Fatalf("%q gave invalid UTF-8 %q", s, out)
		}
		if PlainName(out) != out && !strings.Contains(s, "·") && !strings.Contains(s, "[") {
			t.Fatalf("PlainName not idempotent on %q", s)
		}
	})
}

func BenchmarkDiscordToMSN(b *testing.B) {
	s := strings.Repeat("**bold** and *italic* with `code`, <@80351110224678912> and (*) :) ", 20)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		DiscordToMSN(s, testNames)
	}
}

func BenchmarkDiscordToMSNHostile(b *testing.B) {
	s := strings.Repeat("*a **b __c ~~d ||e `", 200)[:4000]
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		DiscordToMSN(s, nil)
	}
}

func TestNotes(t *testing.T) {
	long := strings.Repeat("word ", 20)
	for _, tc := range []struct{ got, want string }{
		{Snippet("  first line\nsecond"), "first line …"},
		{Snippet(long), strings.TrimSpace(long[:60]) + "…"},
		{Reply("hi", "hello"), "> hi\nhello"},
		{Reply("", "hello"), "hello"},
		{EditNote("new"), "(edited) new"},
		{ReactionNote("👍", "see you"), "(reacted 👍 to “see you”)"},
		{UnreactNote("👍", ""), "(took back the 👍 reaction to a message)"},
		{DeleteNote("oops"), "(deleted the message “oops”)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
