// Package soap reads and writes the SOAP 1.1 messages of the web services
// Windows Live Messenger calls (address book, offline messages, storage).
//
// Requests are read into a small tree with hard limits on size, depth and
// element count; no DTD is accepted, so nothing expands (no entity bombs,
// no external entities). Elements are matched by local name and without
// regard to case, since clients differ in both (lastChange, LastChanged).
// Answers are written as text: clients match literal prefixes such as
// soap:Fault, which encoding/xml cannot produce.
package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Limits on a request.
const (
	MaxBody  = 256 << 10 // bytes, unless the handler asks for more
	maxDepth = 64
	maxNodes = 20000
)

// Namespace of the envelope.
const NSEnvelope = "http://schemas.xmlsoap.org/soap/envelope/"

// Tickets checks the service tickets of RST answers (passport.Grants), by
// which every web service knows who calls: whom token was issued to, if it
// is good for domain.
type Tickets interface {
	Check(token, domain string) (email string, ok bool)
}

// ErrMalformed is any request that is not a SOAP envelope within limits.
var ErrMalformed = errors.New("soap: malformed request")

// Node is an element of a request.
type Node struct {
	Space, Name string // namespace URI and local name
	Attrs       []xml.Attr
	Text        string // character data directly inside, trimmed
	Kids        []*Node
}

// Parse reads a SOAP envelope.
func Parse(body []byte) (*Node, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var (
		root  *Node
		stack []*Node
		text  [][]byte
		nodes int
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, ErrMalformed
		}
		switch t := tok.(type) {
		case xml.StartElement:
			nodes++
			if len(stack) >= maxDepth || nodes > maxNodes || (root != nil && len(stack) == 0) {
				return nil, ErrMalformed
			}
			n := &Node{Space: t.Name.Space, Name: t.Name.Local, Attrs: t.Attr}
			if len(stack) == 0 {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Kids = append(p.Kids, n)
			}
			stack = append(stack, n)
			text = append(text, nil)
		case xml.CharData:
			if len(stack) > 0 {
				text[len(text)-1] = append(text[len(text)-1], t...)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, ErrMalformed
			}
			stack[len(stack)-1].Text = strings.TrimSpace(string(text[len(text)-1]))
			stack, text = stack[:len(stack)-1], text[:len(text)-1]
		case xml.Directive:
			return nil, ErrMalformed // a DTD: nothing a client sends
		}
	}
	if root == nil || len(stack) != 0 || !strings.EqualFold(root.Name, "Envelope") {
		return nil, ErrMalformed
	}
	return root, nil
}

// Child follows a path of local names from n; nil when any step is missing.
func (n *Node) Child(path ...string) *Node {
	for _, name := range path {
		if n == nil {
			return nil
		}
		var next *Node
		for _, k := range n.Kids {
			if strings.EqualFold(k.Name, name) {
				next = k
				break
			}
		}
		n = next
	}
	return n
}

// Value is the text at a path, "" when it is missing.
func (n *Node) Value(path ...string) string {
	if c := n.Child(path...); c != nil {
		return c.Text
	}
	return ""
}

// All returns the children of n named name.
func (n *Node) All(name string) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, k := range n.Kids {
		if strings.EqualFold(k.Name, name) {
			out = append(out, k)
		}
	}
	return out
}

// Find returns every element below n named name, in document order.
func (n *Node) Find(name string) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, k := range n.Kids {
		if strings.EqualFold(k.Name, name) {
			out = append(out, k)
		}
		out = append(out, k.Find(name)...)
	}
	return out
}

// Attr is the value of the attribute with this local name.
func (n *Node) Attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if strings.EqualFold(a.Name.Local, local) {
			return a.Value
		}
	}
	return ""
}

// Bool reads an xsd:boolean at a path (false when missing).
func (n *Node) Bool(path ...string) bool {
	v := n.Value(path...)
	return strings.EqualFold(v, "true") || v == "1"
}

// Header is the envelope's Header (nil when it has none).
func (n *Node) Header() *Node { return n.Child("Header") }

// Action is the request's first Body element: what is asked, whatever
// the SOAPAction header says.
func (n *Node) Action() *Node {
	if b := n.Child("Body"); b != nil && len(b.Kids) > 0 {
		return b.Kids[0]
	}
	return nil
}

// Read reads and parses a POSTed request of at most limit bytes (0 means
// MaxBody). On failure it has answered already (405, 413 or a 500 client
// fault) and returns nil.
func Read(w http.ResponseWriter, r *http.Request, limit int64, fault func(code, msg string) []byte) *Node {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "SOAP requests are POSTed", http.StatusMethodNotAllowed)
		return nil
	}
	if limit <= 0 {
		limit = MaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return nil
		}
		Write(w, http.StatusInternalServerError, fault("soap:Client", "The request could not be read."))
		return nil
	}
	env, err := Parse(body)
	if err != nil || env.Action() == nil {
		Write(w, http.StatusInternalServerError, fault("soap:Client", "The request is not a SOAP message."))
		return nil
	}
	return env
}

// Write sends a SOAP document, always with its Content-Length: Pidgin's
// SOAP reader knows no chunked bodies, which Go's HTTP server would
// otherwise send for any answer past its 2 KiB buffer.
func Write(w http.ResponseWriter, status int, doc []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	w.WriteHeader(status)
	_, _ = w.Write(doc)
}

// Builder writes a document; Esc escapes text for element content and
// attribute values alike.
type Builder struct{ bytes.Buffer }

// Raw writes markup as it is.
func (b *Builder) Raw(ss ...string) {
	for _, s := range ss {
		b.WriteString(s)
	}
}

// Esc writes text escaped.
func (b *Builder) Esc(s string) { _ = xml.EscapeText(b, []byte(s)) }

// markup escapes what would be read as markup, and nothing else.
var markup = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Lines writes multi-line text (a mail message) escaped, with its line
// ends as they are: every XML parser reads a raw CRLF as "\n", as clients
// read the MSN service's answers, while Esc's "&#xD;" would keep the "\r"
// that Pidgin's OIM reader, splitting at "\n\n", does not expect.
func (b *Builder) Lines(s string) { markup.WriteString(b, s) }

// Elem writes <name>text</name> with text escaped.
func (b *Builder) Elem(name, text string) {
	b.Raw("<", name, ">")
	b.Esc(text)
	b.Raw("</", name, ">")
}

// Start opens a soap: envelope with the xsi and xsd prefixes declared.
func (b *Builder) Start() {
	b.Raw(`<?xml version="1.0" encoding="utf-8"?>`,
		`<soap:Envelope xmlns:soap="`, NSEnvelope, `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">`)
}

// End closes what Start opened.
func (b *Builder) End() { b.Raw("</soap:Envelope>") }

// Fault is a SOAP fault document: faultcode (written as given, e.g.
// "soap:Client" or "q0:AuthenticationFailed" with its xmlns in codeNS),
// faultstring, an optional faultactor and detail markup (written raw).
func Fault(code, codeNS, msg, actor, detail string) []byte {
	var b Builder
	b.Start()
	b.Raw("<soap:Body><soap:Fault><faultcode")
	if codeNS != "" {
		p, _, _ := strings.Cut(code, ":")
		b.Raw(" xmlns:", p, `="`)
		b.Esc(codeNS)
		b.Raw(`"`)
	}
	b.Raw(">")
	b.Esc(code)
	b.Raw("</faultcode>")
	b.Elem("faultstring", msg)
	if actor != "" {
		b.Elem("faultactor", actor)
	}
	if detail != "" {
		b.Raw("<detail>", detail, "</detail>")
	}
	b.Raw("</soap:Fault></soap:Body>")
	b.End()
	return b.Bytes()
}

// CleanPath folds a request path for matching: lower case, doubled
// slashes as one (Pidgin asks for //abservice/abservice.asmx).
func CleanPath(p string) string {
	p = strings.ToLower(p)
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}
