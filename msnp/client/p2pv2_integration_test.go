package client_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
	"github.com/nudge-im/nudge/msnp/p2p"
)

// wiretap records what a client writes on each of its connections.
type wiretap struct {
	mu    sync.Mutex
	conns []*bytes.Buffer
}

type tappedConn struct {
	net.Conn
	w  *wiretap
	to *bytes.Buffer
}

func (c *tappedConn) Write(b []byte) (int, error) {
	c.w.mu.Lock()
	c.to.Write(b)
	c.w.mu.Unlock()
	return c.Conn.Write(b)
}

func (w *wiretap) dialer() client.Dialer {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		buf := new(bytes.Buffer)
		w.conns = append(w.conns, buf)
		return &tappedConn{Conn: c, w: w, to: buf}, nil
	}
}

// p2pSent returns the P2P messages the client wrote on switchboards, in
// order: "MSG trid D len" and its payload, read off the raw bytes.
func (w *wiretap) p2pSent(t *testing.T) []*message.Message {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*message.Message
	for _, buf := range w.conns {
		r := bufio.NewReader(bytes.NewReader(buf.Bytes()))
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			// Commands with payloads: the length is the last parameter.
			var n int
			switch f[0] {
			case "MSG", "UUX", "ADL", "RML", "FQY", "UUN", "QRY", "PUT", "SDG", "UUM":
				n, _ = strconv.Atoi(f[len(f)-1])
			}
			payload := make([]byte, n)
			if _, err := io.ReadFull(r, payload); err != nil {
				break
			}
			if f[0] != "MSG" || f[2] != "D" {
				continue
			}
			m, err := message.Parse(payload)
			if err != nil {
				t.Fatalf("MSG payload: %v", err)
			}
			if mt, _ := m.ContentType(); mt == message.TypeP2P {
				out = append(out, m)
			}
		}
	}
	return out
}

// v2Packet is a version 2 packet read by hand, offset by offset, from
// the layout in the P2P reference (§3): not with the package's parser.
type v2Packet struct {
	hl, op     byte
	ml         uint16
	base       uint32
	tlvs       map[byte][]byte
	dhl, tf    byte
	pkg        uint16
	session    uint32
	remaining  uint64
	hasRemains bool
	payload    []byte
}

func readV2(t *testing.T, b []byte) v2Packet {
	t.Helper()
	var p v2Packet
	if len(b) < 12 {
		t.Fatalf("packet of %d bytes", len(b))
	}
	p.hl, p.op = b[0], b[1]
	p.ml = binary.BigEndian.Uint16(b[2:4])
	p.base = binary.BigEndian.Uint32(b[4:8])
	if p.hl%4 != 0 || p.hl < 8 || int(p.hl)+int(p.ml)+4 != len(b) {
		t.Fatalf("header length %d, message %d, in %d bytes", p.hl, p.ml, len(b))
	}
	p.tlvs = map[byte][]byte{}
	for i := 8; i < int(p.hl) && b[i] != 0; i += 2 + int(b[i+1]) {
		p.tlvs[b[i]] = b[i+2 : i+2+int(b[i+1])]
	}
	if p.ml == 0 {
		return p
	}
	d := b[p.hl : len(b)-4]
	p.dhl, p.tf = d[0], d[1]
	if p.dhl%4 != 0 || p.dhl < 8 {
		t.Fatalf("data header length %d", p.dhl)
	}
	p.pkg = binary.BigEndian.Uint16(d[2:4])
	p.session = binary.BigEndian.Uint32(d[4:8])
	for i := 8; i < int(p.dhl) && d[i] != 0; i += 2 + int(d[i+1]) {
		if d[i] == 1 && d[i+1] == 8 {
			p.remaining, p.hasRemains = binary.BigEndian.Uint64(d[i+2:]), true
		}
	}
	p.payload = d[p.dhl:]
	return p
}

// checkV2Transcript checks every P2P message a client wrote to its
// contact against the version 2 layout: addresses with endpoints, a SYN
// with WLM's peer info first, BaseIDs advancing by MessageLen, TF first
// on each message's first packet, RAK on its last, data remaining on all
// but the last, no data preparation, and an ACK for every packet of the
// other side that asked for one. It returns the TFs seen.
func checkV2Transcript(t *testing.T, from, to *client.Client, mine, theirs []*message.Message) map[byte]bool {
	t.Helper()
	wantSrc := from.Self().Email + ";" + from.MachineGUID()
	wantDest := to.Self().Email + ";" + to.MachineGUID()
	if len(mine) == 0 {
		t.Fatal("no P2P messages")
	}
	acks := map[uint32]bool{}
	tfs := map[byte]bool{}
	var next uint32
	open := map[uint64]uint64{} // remaining by session<<16|package
	for i, m := range mine {
		if m.Get("P2P-Src") != wantSrc || m.Get("P2P-Dest") != wantDest {
			t.Fatalf("packet %d: P2P-Src %q, P2P-Dest %q; want %q, %q", i, m.Get("P2P-Src"), m.Get("P2P-Dest"), wantSrc, wantDest)
		}
		p := readV2(t, m.Body)
		if i == 0 {
			if p.op&0x1 == 0 || !bytes.Equal(p.tlvs[1], []byte{0, 2, 0, 0, 0, 0x0e, 0, 0, 0x0f, 1, 0, 0}) {
				t.Fatalf("first packet: opcode %#x, peer info % x", p.op, p.tlvs[1])
			}
		} else if p.base != next {
			t.Fatalf("packet %d: BaseID %d, want %d", i, p.base, next)
		}
		next = p.base + uint32(p.ml)
		if a, ok := p.tlvs[2]; ok {
			if len(a) != 4 || p.ml != 0 {
				t.Fatalf("packet %d: ACK TLV % x with %d bytes", i, a, p.ml)
			}
			acks[binary.BigEndian.Uint32(a)] = true
			continue
		}
		if p.ml == 0 {
			t.Fatalf("packet %d: neither data nor ACK", i)
		}
		k := uint64(p.session)<<16 | uint64(p.pkg)
		if _, cont := open[k]; cont == (p.tf&1 != 0) {
			t.Fatalf("packet %d: TF %#x in a message begun: %v", i, p.tf, cont)
		}
		tfs[p.tf] = true
		if p.session == 0 && p.tf&1 != 0 && !bytes.HasPrefix(p.payload, []byte("INVITE MSNMSGR:"+wantDest)) && !bytes.HasPrefix(p.payload, []byte("MSNSLP/1.0 ")) && !bytes.HasPrefix(p.payload, []byte("BYE MSNMSGR:"+wantDest)) {
			t.Fatalf("packet %d: MSNSLP %q", i, p.payload[:min(len(p.payload), 60)])
		}
		if p.session != 0 && len(p.payload) == 4 && p.tf&^1 == 0 {
			t.Fatalf("packet %d: a data preparation", i)
		}
		if p.hasRemains {
			open[k] = p.remaining
			if p.op&0x2 != 0 && i > 0 {
				t.Fatalf("packet %d: RAK before the message's end", i)
			}
		} else {
			delete(open, k)
			if p.op&0x2 == 0 {
				t.Fatalf("packet %d: the last of a message without RAK", i)
			}
		}
	}
	for _, m := range theirs {
		p := readV2(t, m.Body)
		if p.op&0x2 != 0 && !acks[p.base+uint32(p.ml)] {
			t.Errorf("their packet %d+%d asked for an ACK and got none", p.base, p.ml)
		}
	}
	return tfs
}

// settled waits until every packet that asked for an ACK has one on the
// wire (the last ACKs may still be on their way when a transfer ends).
func settled(t *testing.T, taps ...*wiretap) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		acks := map[uint32]bool{}
		var raks []uint32
		for _, tp := range taps {
			for _, m := range tp.p2pSent(t) {
				p := readV2(t, m.Body)
				if a, ok := p.tlvs[2]; ok && len(a) == 4 {
					acks[binary.BigEndian.Uint32(a)] = true
				}
				if p.op&0x2 != 0 {
					raks = append(raks, p.base+uint32(p.ml))
				}
			}
		}
		done := true
		for _, r := range raks {
			done = done && acks[r]
		}
		if done {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEndpoints waits until c knows that email is signed in from n
// endpoints that speak P2P version 2.
func waitEndpoints(t *testing.T, c *client.Client, email string, n int) []client.Endpoint {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var v2 []client.Endpoint
		for _, e := range c.Endpoints(email) {
			if e.CapabilitiesEx&msnp.CapExP2PV2 != 0 {
				v2 = append(v2, e)
			}
		}
		if len(v2) >= n {
			return v2
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s knows %d P2P version 2 endpoints of %s: %+v", c.Self().Email, len(v2), email, c.Endpoints(email))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two MSNP18 clients speak P2P version 2 to each other, through the real
// service: a display picture and a file, checked byte by byte on the wire.
func TestServerP2PV2Transcript(t *testing.T) {
	srv := coretest.Start(t)
	var tapA, tapB wiretap
	picture := randomBytes(5000)
	a, b := friends(t, srv, 18, 18, func(a, b *client.Config) {
		a.DisplayPicture = picture
		a.Dialer, b.Dialer = tapA.dialer(), tapB.dialer()
	})
	waitEndpoints(t, b, a.Self().Email, 1)
	waitEndpoints(t, a, b.Self().Email, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got, ok, err := b.FetchDisplayPicture(ctx, a.Self().Email)
	if err != nil || !ok || !bytes.Equal(got, picture) {
		t.Fatalf("picture: %v %v", ok, err)
	}
	sendAndReceive(t, a, b, "v2.bin", randomBytes(4000), nil)

	settled(t, &tapA, &tapB)
	sentA, sentB := tapA.p2pSent(t), tapB.p2pSent(t)
	tfA := checkV2Transcript(t, a, b, sentA, sentB)
	tfB := checkV2Transcript(t, b, a, sentB, sentA)
	// Alice sent the object (TF first|object, then object) and the file
	// (first|file, file); Bob MSNSLP only.
	for _, tf := range []byte{p2p.TFFirst, p2p.TFFirst | p2p.TFObject, p2p.TFObject, p2p.TFFirst | p2p.TFFile, p2p.TFFile} {
		if !tfA[tf] {
			t.Errorf("alice sent no packet with TF %#x: %v", tf, tfA)
		}
	}
	if len(tfB) != 1 || !tfB[p2p.TFFirst] {
		t.Errorf("bob sent TFs %v", tfB)
	}
}

// A client at MSNP18 speaks P2P version 1 to one at MSNP12, which has no
// endpoints, and the version 1 header goes on the wire.
func TestServerP2PV1ToOlder(t *testing.T) {
	srv := coretest.Start(t)
	var tap wiretap
	a, b := friends(t, srv, 18, 12, func(a, _ *client.Config) { a.Dialer = tap.dialer() })
	next[*client.Presence](t, a)
	sendAndReceive(t, a, b, "v1.bin", randomBytes(3000), nil)
	for _, m := range tap.p2pSent(t) {
		if dest := m.Get("P2P-Dest"); dest != b.Self().Email || m.Get("P2P-Src") != "" {
			t.Fatalf("P2P-Dest %q, P2P-Src %q", dest, m.Get("P2P-Src"))
		}
		if _, err := p2p.Parse(m.Body); err != nil {
			t.Fatalf("not a version 1 packet: %v", err)
		}
	}
}

// A user signed in at two places: a file and a picture go to the endpoint
// chosen, and the other neither answers nor sees an offer.
func TestServerP2PV2Endpoints(t *testing.T) {
	srv := coretest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	picture := randomBytes(3000)
	var tapB2 wiretap
	a, b1 := friends(t, srv, 18, 18, func(_, b *client.Config) { b.DisplayPicture = picture })
	cfg2 := userConfig(srv, b1.Self().Email, 18)
	cfg2.Dialer = tapB2.dialer()
	cfg2.DisplayPicture = picture
	b2 := dial(t, cfg2)
	eps := waitEndpoints(t, a, b1.Self().Email, 2)
	if eps[0].GUID == eps[1].GUID {
		t.Fatalf("endpoints %+v", eps)
	}

	// Chosen by name: the second endpoint.
	data := randomBytes(2500)
	tr, err := a.SendFile(ctx, b1.Self().Email+";"+b2.MachineGUID(), client.File{Name: "to-b2.bin", Size: int64(len(data)), Reader: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	offer := next[*client.FileOffer](t, b2)
	var buf bytes.Buffer
	if err := offer.Transfer.Accept(&buf); err != nil {
		t.Fatal(err)
	}
	if err := tr.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := offer.Transfer.Wait(ctx); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("b2 received %d bytes: %v", buf.Len(), err)
	}

	// Not named: the first endpoint that speaks version 2, and only it.
	first, other := b1, b2
	if eps[0].GUID == b2.MachineGUID() {
		first, other = b2, b1
	}
	tr, err = a.SendFile(ctx, b1.Self().Email, client.File{Name: "to-first.bin", Size: 3, Reader: strings.NewReader("abc")})
	if err != nil {
		t.Fatal(err)
	}
	offer = next[*client.FileOffer](t, first)
	if err := offer.Transfer.Decline(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Wait(ctx); !errors.Is(err, client.ErrDeclined) {
		t.Fatalf("declined by the first endpoint: %v", err)
	}

	// The picture comes from one endpoint; b2 serves only when it is
	// the one asked.
	sentBefore := len(tapB2.p2pSent(t))
	got, ok, err := a.FetchDisplayPicture(ctx, b1.Self().Email)
	if err != nil || !ok || !bytes.Equal(got, picture) {
		t.Fatalf("picture: %v %v", ok, err)
	}
	if served := len(tapB2.p2pSent(t)) > sentBefore; served != (first == b2) {
		t.Errorf("b2 sent P2P packets: %v; it was the endpoint asked: %v", served, first == b2)
	}
	// Whoever was not addressed never saw an offer.
	select {
	case ev := <-drain[*client.FileOffer](other):
		t.Errorf("%s got an offer meant for the other endpoint: %+v", other.MachineGUID(), ev)
	case <-time.After(200 * time.Millisecond):
	}
}

// drain returns the first event of type T already queued for c, if any.
func drain[T client.Event](c *client.Client) <-chan T {
	ch := make(chan T, 1)
	for {
		select {
		case ev := <-c.Events():
			if e, ok := ev.(T); ok {
				ch <- e
				return ch
			}
			continue
		default:
		}
		return ch
	}
}
