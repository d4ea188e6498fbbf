package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// These tests drive the Web Messenger in Debian's Chromium (installed by
// scripts/deps.d/60-chromium.sh) against a real service: two browser
// sessions and a Go MSN client chat, nudge, change presence and follow an
// msnim: link. NUDGE_WEB_SCREENSHOTS=DIR saves the main screens there.

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: scripts/deps.d/60-chromium.sh should have installed it")
	}
	t.Skip("chromium is not installed (Debian package chromium; `make deps` installs it): skipping the browser tests")
	return ""
}

// browser starts one headless Chromium for the test.
func browser(t *testing.T) context.Context {
	path := chromium(t)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 700),
	)
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(cancelCtx)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// page is one browser session (its own cookies and storage).
type page struct {
	t    *testing.T
	name string
	ctx  context.Context
}

func newPage(t *testing.T, b context.Context, name string) *page {
	ctx, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first run opens the tab, which lives as long as the context of
	// that run: give it this one, not a step's shorter one.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("%s: open a tab: %v", name, err)
	}
	return &page{t: t, name: name, ctx: ctx}
}

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// js evaluates an expression in the page.
func (p *page) js(expr string) any {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, expr, err)
	}
	return v
}

// wait polls a JavaScript condition until it is true.
func (p *page) wait(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Errors count as false: the page may be between two documents.
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		cancel()
		if err == nil && v {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: waited in vain for %s (%s)", p.name, what, cond)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// text is the visible text of the first element matching sel.
func (p *page) text(sel string) string {
	p.t.Helper()
	s, _ := p.js(fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ""`, sel)).(string)
	return s
}

func (p *page) click(sel string) {
	p.t.Helper()
	p.wait("element "+sel, fmt.Sprintf(`document.querySelector(%q)`, sel))
	p.do(chromedp.Click(sel, chromedp.NodeVisible))
}

func (p *page) signIn(url, email, password string) {
	p.t.Helper()
	p.do(chromedp.Navigate(url),
		chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", email),
		chromedp.SendKeys("#password", password),
		chromedp.Click("#signin-button"))
	p.wait("the contact list", `!document.getElementById("messenger").hidden`)
}

func (p *page) screenshot(name string) {
	dir := os.Getenv("NUDGE_WEB_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	// A tab paints, and so can be photographed, only in front.
	id := chromedp.FromContext(p.ctx).Target.TargetID
	if _, err := chromedp.CallBrowser(ctx, target.ActivateTarget, target.ActivateTargetParams{TargetID: id}); err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// convWith is a JS expression for the panel of the conversation with email.
func convPanel(email string) string {
	return fmt.Sprintf(`(() => { const c = messenger.conversations().find((c) => c.people.includes(%q)); return c && document.getElementById("panel-" + c.id); })()`, email)
}

func TestWebMessengerInABrowser(t *testing.T) {
	srv := coretest.Start(t)
	const alice, bob, carol = "alice@example.com", "bob@example.com", "carol@example.com"
	srv.AddUser(t, alice, "alice-pw", "Alice")
	srv.AddUser(t, bob, "bob-pw", "Bob")
	srv.AddUser(t, carol, "carol-pw", "Carol")
	web := srv.HTTPURL + "/web/"

	b := browser(t)
	a := newPage(t, b, "alice's browser")

	// Signing in: a wrong password is one line, the right one signs in, and
	// the password stays nowhere in the page.
	a.do(chromedp.Navigate(web), chromedp.WaitVisible("#email"))
	a.screenshot("web-signin")
	a.do(chromedp.SendKeys("#email", alice), chromedp.SendKeys("#password", "wrong"), chromedp.Click("#signin-button"))
	a.wait("the wrong-password message", `document.getElementById("signin-error").textContent.includes("password is wrong")`)
	a.do(chromedp.SendKeys("#password", "alice-pw"), chromedp.Click("#signin-button"))
	a.wait("the contact list", `!document.getElementById("messenger").hidden`)
	if leaked := a.js(`[JSON.stringify(localStorage), JSON.stringify(sessionStorage), document.cookie, document.getElementById("password").value].join("|").includes("alice-pw")`); leaked != false {
		t.Fatal("the password is kept in the page")
	}

	// Carol, a Go client, adds Alice: Alice is asked and accepts; Carol
	// sees her with the Web Messenger capability.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cc, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: carol, Password: "carol-pw",
		Passport: client.PassportConfig{URL: srv.HTTPURL}, RequestTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if err := cc.AddContact(ctx, alice); err != nil {
		t.Fatal(err)
	}
	p := nextEvent[*client.Presence](t, cc, func(p *client.Presence) bool { return p.Email == alice && p.Status == client.Online })
	if p.Capabilities&msnp.CapWebClient == 0 {
		t.Errorf("carol sees alice with capabilities %#x, want the Web Messenger's %#x", p.Capabilities, msnp.CapWebClient)
	}
	a.wait("carol's request", `document.getElementById("requests").innerText.includes("carol@example.com")`)
	a.click("#requests .button.primary")
	a.wait("carol in the list", `document.getElementById("contact-list").innerText.includes("Carol")`)

	// Bob signs in in another browser session; Alice adds him through the
	// dialog, Bob accepts.
	bp := newPage(t, b, "bob's browser")
	bp.signIn(web, bob, "bob-pw")
	a.click("#add-contact")
	a.do(chromedp.SendKeys("#dialog-input", bob+"\r"))
	a.wait("the dialog to close", `!document.getElementById("dialog").open`)
	bp.wait("alice's request", `document.getElementById("requests").innerText.includes("alice@example.com")`)
	bp.click("#requests .button.primary")
	a.wait("bob online", `messenger.contacts().some((c) => c.email === "bob@example.com" && c.status === "NLN" && (c.caps & 0x200))`)
	bp.wait("alice online", `messenger.contacts().some((c) => c.email === "alice@example.com" && c.status === "NLN")`)

	// Alice opens a conversation with Bob from the keyboard and types:
	// Bob sees the typing notice, then the message with its emoticon.
	a.js(`document.querySelector('[data-email="bob@example.com"]').focus()`)
	a.do(chromedp.KeyEvent("\r"))
	a.wait("the conversation", convPanel(bob)+`?.contains(document.activeElement)`)
	a.do(chromedp.KeyEvent("Hi Bob"))
	bp.wait("the typing notice", `document.querySelector(".typing")?.textContent.includes("Alice is typing")`)
	a.do(chromedp.KeyEvent(" :)\r"))
	bp.wait("alice's message", `[...document.querySelectorAll(".msg-text")].some((m) => m.textContent.includes("Hi Bob"))`)
	if alt := bp.js(`document.querySelector(".msg-text img.emo")?.alt`); alt != ":)" {
		t.Errorf("emoticon shown as %v, want a picture with alt :)", alt)
	}
	bp.wait("the typing notice to go", `document.querySelector(".typing").textContent === ""`)

	// Bob answers in bold; Alice sees it bold.
	bp.click(`.fmt[data-fmt="bold"]`)
	bp.do(chromedp.SendKeys(".chat .input", "Hello Alice!\r"))
	a.wait("bob's bold answer", `[...document.querySelectorAll(".msg:not(.mine) .msg-text")].some((m) => m.textContent === "Hello Alice!" && m.style.fontWeight === "bold")`)

	// A nudge shakes Alice's window.
	bp.click(".chat .nudge")
	a.wait("the nudge", `document.getElementById("app").classList.contains("shake") || document.querySelector(".log").innerText.includes("sent you a nudge")`)
	a.wait("the nudge line", `document.querySelector(".log").innerText.includes("Bob has just sent you a nudge")`)
	a.screenshot("web-conversation")

	// Carol writes from Go: a second tab opens for Alice, marked unread,
	// and the title says so.
	cv, err := cc.Conversation(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := cv.Send(ctx, "Carol here (L)"); err != nil {
		t.Fatal(err)
	}
	a.wait("carol's tab", `[...document.querySelectorAll(".tab")].some((t) => t.textContent.startsWith("Carol") && t.classList.contains("unread"))`)
	a.wait("the title", `document.title.startsWith("(1)")`)
	// The tabs work from the keyboard: an arrow key moves to the next one.
	a.js(`document.querySelector('.tab[aria-selected="true"]').focus()`)
	a.do(chromedp.KeyEvent(kb.ArrowLeft))
	a.wait("carol's tab selected by the keyboard", `document.activeElement.classList.contains("tab") && document.activeElement.textContent.startsWith("Carol") && document.activeElement.getAttribute("aria-selected") === "true"`)
	a.wait("the title without unread messages", `!document.title.startsWith("(")`)
	// Alice answers Carol: the Go client gets it.
	a.do(chromedp.SendKeys(".chat:not([hidden]) .input", "hi Carol\r"))
	if m := nextEvent[*client.Message](t, cc, func(m *client.Message) bool { return true }); m.Text != "hi Carol" || m.From != alice {
		t.Errorf("carol got %+v", m)
	}
	if err := cv.SendNudge(ctx); err != nil {
		t.Fatal(err)
	}
	a.wait("carol's nudge", convPanel(carol)+`?.innerText.includes("Carol has just sent you a nudge")`)

	// Presence both ways: Bob goes away in the browser, Carol busy in Go;
	// Alice sees both, and her new name and personal message reach Carol.
	bp.js(`(() => { const s = document.getElementById("my-status"); s.value = "AWY"; s.dispatchEvent(new Event("change")); })()`)
	if err := cc.SetStatus(ctx, client.Busy); err != nil {
		t.Fatal(err)
	}
	a.wait("bob away and carol busy", `messenger.contacts().some((c) => c.email === "bob@example.com" && c.status === "AWY") && messenger.contacts().some((c) => c.email === "carol@example.com" && c.status === "BSY")`)
	a.wait("the list to show it", `document.getElementById("contact-list").innerText.includes("(Away)") && document.getElementById("contact-list").innerText.includes("(Busy)")`)
	// Escape closes a dialog without a change.
	a.click("#my-psm")
	a.wait("the dialog", `document.getElementById("dialog").open`)
	a.do(chromedp.KeyEvent(kb.Escape))
	a.wait("the dialog to close", `!document.getElementById("dialog").open`)
	a.click("#my-psm")
	a.do(chromedp.SendKeys("#dialog-input", "on the web\r"))
	a.wait("the personal message", `messenger.me.psm === "on the web" && document.getElementById("my-psm").textContent === "on the web"`)
	nextEvent[*client.Presence](t, cc, func(p *client.Presence) bool { return p.Email == alice && p.PersonalMessage == "on the web" })
	a.click("#my-name")
	a.js(`document.getElementById("dialog-input").value = ""`)
	a.do(chromedp.SendKeys("#dialog-input", "Alice in Wonderland\r"))
	a.wait("the new name", `messenger.me.name === "Alice in Wonderland"`)
	nextEvent[*client.Presence](t, cc, func(p *client.Presence) bool { return p.Email == alice && p.FriendlyName == "Alice in Wonderland" })
	a.screenshot("web-contacts")

	// A group conversation: Alice invites Carol into the one with Bob;
	// Carol's message reaches both browsers.
	a.js(`[...document.querySelectorAll(".tab")].find((t) => t.textContent.startsWith("Bob")).click()`)
	a.click(".chat:not([hidden]) .invite")
	a.js(`document.getElementById("dialog-input").value = "carol@example.com"`)
	a.click("#dialog-buttons .primary")
	inv := nextEvent[*client.Invited](t, cc, func(*client.Invited) bool { return true })
	if err := inv.Conversation.Send(ctx, "hello both"); err != nil {
		t.Fatal(err)
	}
	a.wait("carol's message in the group", `[...document.querySelectorAll(".chat")].some((c) => c.innerText.includes("Bob, Carol") && c.innerText.includes("hello both"))`)
	bp.wait("carol's message for bob", `document.querySelector(".chat:not([hidden])")?.innerText.includes("hello both")`)

	// A network blip: every WebSocket breaks without a goodbye. The pages
	// resume, stay signed in, and chat on.
	if n := srv.Web.BreakWebSockets(); n < 4 {
		t.Fatalf("broke %d WebSockets, want the notification and conversation ones of both pages", n)
	}
	a.wait("the reconnection", `document.getElementById("netstate").textContent === ""`)
	bp.wait("the reconnection", `document.getElementById("netstate").textContent === ""`)
	bp.do(chromedp.SendKeys(".chat:not([hidden]) .input", "still here\r"))
	a.wait("a message after the blip", `[...document.querySelectorAll(".msg-text")].some((m) => m.textContent === "still here")`)
	if !a.js(`!document.getElementById("messenger").hidden`).(bool) {
		t.Fatal("alice was signed out by the blip")
	}

	// The "add me" page links msnim:add and the Web Messenger.
	resp, err := http.Get(srv.HTTPURL + "/web/add/" + carol)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `href="msnim:add?contact=carol@example.com"`) || !strings.Contains(string(body), `href="/web/?add=carol@example.com"`) {
		t.Errorf("add-me page:\n%s", body)
	}

	// msnim: links. A page's msnim:chat link, through the registered
	// handler, opens the Web Messenger at that conversation after sign-in;
	// msnim:add opens the add dialog.
	d := newPage(t, b, "dave's browser")
	srv.AddUser(t, "dave@example.com", "dave-pw", "Dave")
	d.do(chromedp.Navigate(web + "?uri=" + "msnim%3Achat%3Fcontact%3Dcarol%40example.com"))
	d.wait("the pending link", `document.getElementById("pending-link").textContent.includes("chat with carol@example.com")`)
	d.signIn(web+"?uri=msnim%3Achat%3Fcontact%3Dcarol%40example.com", "dave@example.com", "dave-pw")
	d.wait("the conversation with carol", convPanel(carol)+` && !`+convPanel(carol)+`.hidden`)
	d.do(chromedp.Navigate(srv.HTTPURL+"/web/add/carol@example.com"), chromedp.WaitVisible(".button"))
	d.screenshot("web-addme")
	d.do(chromedp.Click(`a[href^="/web/?add="]`))
	d.wait("the sign-in page", `!document.getElementById("signin").hidden && document.getElementById("pending-link").textContent.includes("add carol@example.com")`)
	d.signIn(srv.HTTPURL+"/web/?add=carol%40example.com", "dave@example.com", "dave-pw")
	d.wait("the add dialog", `document.getElementById("dialog").open && document.getElementById("dialog-input").value === "carol@example.com"`)
	d.do(chromedp.KeyEvent("\r"))
	nextEvent[*client.ContactAdded](t, cc, func(e *client.ContactAdded) bool { return e.Email == "dave@example.com" })

	// On a phone-sized screen the conversation takes the whole screen.
	bp.do(chromedp.EmulateViewport(390, 760, chromedp.EmulateScale(2)))
	bp.wait("the phone layout", `getComputedStyle(document.getElementById("contacts-pane")).display === "none"`)
	bp.screenshot("web-phone")

	// Signing out ends the session on the server too.
	bp.click(".chat:not([hidden]) .back")
	bp.click("#menu-button")
	bp.js(`[...document.querySelectorAll("#dialog-buttons button")].find((b) => b.textContent === "Sign out").click()`)
	a.wait("bob offline", `messenger.contacts().some((c) => c.email === "bob@example.com" && c.status === "FLN")`)
}

// nextEvent waits for an event of type T that ok accepts.
func nextEvent[T client.Event](t *testing.T, c *client.Client, ok func(T) bool) T {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, open := <-c.Events():
			if !open {
				t.Fatalf("events closed: %v", c.Err())
			}
			if e, is := ev.(T); is && ok(e) {
				return e
			}
		case <-timeout:
			var zero T
			b, _ := json.Marshal(zero)
			t.Fatalf("no %T event (%s)", zero, b)
		}
	}
}
