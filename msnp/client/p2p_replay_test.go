package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/msnp/message"
	"github.com/nudge-im/nudge/msnp/msnftp"
	"github.com/nudge-im/nudge/msnp/p2p"
)

// Replays of what real clients send over the switchboard, from the P2P
// reference's test plan: a scripted peer writes the packets Pidgin, aMSN,
// papyon, WLM 2009 or the official client write, and checks what this
// client answers, packet by packet.

// p2pSignIn signs in as email with MSNP12 against a scripted service.
func p2pSignIn(t *testing.T, email string, tune func(*Config)) (*Client, *sconn) {
	t.Helper()
	ps := passportServer(t, email, "mypassword", "t=tick&p=")
	ns := newScriptServer(t)
	cfg := testConfig(ns.addr(), 12)
	cfg.Email = email
	cfg.Passport.RSTURL = ps.URL + "/RST.srf"
	if tune != nil {
		tune(&cfg)
	}
	cc, ec := dialAsync(cfg)
	n := ns.accept()
	n.expect("VER 1 MSNP12 CVR0")
	n.send("VER 1 MSNP12")
	n.expect("CVR 2 ...")
	n.send("CVR 2 7.5.0324 7.5.0324 7.5.0324 http://a http://b")
	n.expect("USR 3 TWN I " + email)
	n.send("USR 3 TWN S ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1033,id=507")
	n.expect("USR 4 TWN S t=tick&p=")
	n.send("USR 4 OK "+email+" 1 0", "SBS 0 null")
	n.expect("SYN 5 0 0")
	n.send("SYN 5 2000-01-01T00:00:00.0-00:00 2000-01-01T00:00:00.0-00:00 1 0",
		"GTC A", "BLP AL", "PRP MFN Me",
		"LST N=bob@example.com F=Bob C=11111111-2222-3333-4444-555555555555 11 1")
	chg := n.expect("CHG 6 NLN ...")
	n.send(chg.String())
	n.expect("PNG")
	n.send("QNG 60")
	return dialResult(t, cc, ec), n
}

// peer is the scripted contact on a switchboard with the client.
type peer struct {
	t      *testing.T
	sb     *sconn
	self   string // the peer's handle
	client string // the client's handle
	id     uint32 // the peer's next Identifier
}

// ringPeer has bob invite the client into a scripted switchboard.
func ringPeer(t *testing.T, c *Client, n *sconn) *peer {
	t.Helper()
	sbs := newScriptServer(t)
	n.send("RNG 11752013 " + sbs.addr() + " CKI 8.5.2 bob@example.com Bob")
	sb := sbs.accept()
	ans := sb.expect("ANS 1 * 8.5.2 11752013")
	sb.send("IRO 1 1 1 bob@example.com Bob 1342210100", "ANS 1 OK")
	waitEvent[*Invited](t, c)
	return &peer{t: t, sb: sb, self: "bob@example.com", client: ans.Param(0), id: 0x0AC47440}
}

// send writes one packet from the peer.
func (p *peer) send(h p2p.Header, data []byte, appID uint32) {
	p.t.Helper()
	h.Length = uint32(len(data))
	m := message.NewP2P(p.client, p2p.Packet{Header: h, Data: data, AppID: appID})
	p.sb.sendPayload("MSG bob@example.com Bob", string(m.Bytes()))
}

// sendMessage sends a whole message in chunks of at most max bytes; it
// returns its header.
func (p *peer) sendMessage(session uint32, flags uint32, data []byte, appID uint32, max int) p2p.Header {
	p.t.Helper()
	p.id++
	h := p2p.Header{SessionID: session, Identifier: p.id, Flags: flags, AckID: 0x0AC56E77 + p.id}
	for _, c := range p2p.Split(h, data, appID, max) {
		p.send(c.Header, c.Data, c.AppID)
	}
	h.TotalSize = uint64(len(data))
	return h
}

// sendSLP sends an MSNSLP message, as SLP flags say.
func (p *peer) sendSLP(s *p2p.SLP, flags uint32) p2p.Header {
	p.t.Helper()
	return p.sendMessage(0, flags, s.Bytes(), 0, p2p.MaxChunk)
}

// read returns the next packet the client sends, acknowledging its MSG as
// the switchboard does.
func (p *peer) read() p2p.Packet {
	p.t.Helper()
	cmd := p.sb.read()
	if cmd.Name != "MSG" || cmd.Param(0) != "D" {
		p.t.Fatalf("client sent %q, expected a P2P MSG D", cmd.String())
	}
	p.sb.send("ACK " + strconv.FormatUint(uint64(cmd.TrID), 10))
	m, err := message.Parse(cmd.Payload)
	if err != nil {
		p.t.Fatal(err)
	}
	if m.Kind() != message.KindP2P || m.P2PDest() != p.self {
		p.t.Fatalf("not a P2P message to %s: %q", p.self, cmd.Payload)
	}
	pkt, err := p2p.Parse(m.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return pkt
}

// readMessage reads the packets of one whole message from the client.
func (p *peer) readMessage() *p2p.Message {
	p.t.Helper()
	var a p2p.Assembler
	for {
		pkt := p.read()
		if p2p.Classify(pkt) == p2p.KindACK {
			return &p2p.Message{Header: pkt.Header, AppID: pkt.AppID}
		}
		m, err := a.Add(pkt)
		if err != nil {
			p.t.Fatal(err)
		}
		if m != nil {
			return m
		}
	}
}

// expectAck reads an ACK of the message with header h.
func (p *peer) expectAck(h p2p.Header) {
	p.t.Helper()
	m := p.readMessage()
	want := p2p.Ack(h, m.Header.Identifier)
	if m.Header != want || m.AppID != 0 {
		p.t.Fatalf("client sent %+v, want the ACK %+v", m.Header, want)
	}
}

// readSLP reads a whole MSNSLP message from the client.
func (p *peer) readSLP() (*p2p.SLP, p2p.Header) {
	p.t.Helper()
	m := p.readMessage()
	if m.Header.SessionID != 0 || m.Header.Flags&p2p.FlagACK != 0 {
		p.t.Fatalf("client sent %+v, expected MSNSLP", m.Header)
	}
	s, err := p2p.ParseSLP(m.Data)
	if err != nil {
		p.t.Fatal(err)
	}
	return s, m.Header
}

// ack acknowledges a message of the client's.
func (p *peer) ack(h p2p.Header) {
	p.id++
	p.send(p2p.Ack(h, p.id), nil, 0)
}

// A display picture fetched from a Pidgin-like owner: it sends 200 OK,
// the data preparation and the data without waiting for ACKs, with its
// AppID in the data and 0 in the preparation; and from WLM 2009, with its
// flags. The client ACKs each whole message once, checks SHA1D and says
// BYE.
func TestReplayFetchFromOwner(t *testing.T) {
	for _, owner := range []struct {
		name               string
		slpFlags, objFlags uint32
	}{
		{"pidgin", 0, p2p.FlagsObjectData},
		{"wlm2009", p2p.FlagWLM, p2p.FlagsWLMObjectData},
	} {
		t.Run(owner.name, func(t *testing.T) {
			c, n := p2pSignIn(t, "alice@example.com", nil)
			bob := ringPeer(t, c, n)
			picture := bytes.Repeat([]byte("0123456789abcdef"), 200) // 3200 bytes: 3 chunks
			obj := p2p.NewObject("bob@example.com", p2p.TypeDisplayPicture, "TFR2C.tmp", picture)
			type result struct {
				data []byte
				err  error
			}
			done := make(chan result, 1)
			go func() {
				d, err := c.FetchObject(context.Background(), obj)
				done <- result{d, err}
			}()

			inv, invH := bob.readSLP()
			ctx, _ := base64.StdEncoding.DecodeString(inv.Context())
			if inv.Method != "INVITE" || inv.URI != "bob@example.com" || inv.To != "bob@example.com" || inv.From != "alice@example.com" ||
				inv.EUFGUID() != p2p.EUFObject || inv.AppID() != 1 || string(ctx) != obj.String() ||
				!strings.HasPrefix(inv.CallID, "{") || !strings.HasPrefix(inv.Branch, "{") || inv.CSeq != 0 {
				t.Fatalf("invite %+v, context %q", inv, ctx)
			}
			if invH.Flags != 0 {
				t.Errorf("INVITE flags %#x", invH.Flags)
			}
			sid := inv.SessionID()
			bob.ack(invH)
			ok := bob.sendSLP(inv.Reply(p2p.StatusOK, "", p2p.SessionBody(sid)), owner.slpFlags)
			prep := bob.sendMessage(sid, 0, []byte{0, 0, 0, 0}, 0, 0)
			data := bob.sendMessage(sid, owner.objFlags, picture, 1, 0)

			bob.expectAck(ok)
			bob.expectAck(prep)
			bob.expectAck(data)
			bye, _ := bob.readSLP()
			if bye.Method != "BYE" || bye.CallID != inv.CallID || bye.ContentType != p2p.ContentSessionClose {
				t.Errorf("bye %+v", bye)
			}
			r := <-done
			if r.err != nil || !bytes.Equal(r.data, picture) {
				t.Fatalf("fetch: %v", r.err)
			}
		})
	}
}

// An owner that sends data whose SHA1D is wrong, and one that answers 200
// OK and then 603, as Pidgin does for an object it cannot find.
func TestReplayFetchRefused(t *testing.T) {
	c, n := p2pSignIn(t, "alice@example.com", nil)
	bob := ringPeer(t, c, n)
	obj := p2p.NewObject("bob@example.com", p2p.TypeEmoticon, "smile.png", []byte("the real one"))
	errc := make(chan error, 2)
	go func() {
		_, err := c.FetchObject(context.Background(), obj)
		errc <- err
	}()
	inv, invH := bob.readSLP()
	if inv.AppID() != 11 {
		t.Errorf("emoticon AppID %d", inv.AppID())
	}
	bob.ack(invH)
	bob.sendSLP(inv.Reply(p2p.StatusOK, "", p2p.SessionBody(inv.SessionID())), 0)
	bob.readMessage()
	bob.sendMessage(inv.SessionID(), p2p.FlagsObjectData, []byte("an impostor!"), 11, 0)
	bob.readMessage() // ACK
	bye, _ := bob.readSLP()
	if bye.Method != "BYE" {
		t.Errorf("%+v", bye)
	}
	if err := <-errc; !errors.Is(err, p2p.ErrChecksum) {
		t.Errorf("wrong data: %v", err)
	}

	obj2 := p2p.NewObject("bob@example.com", p2p.TypeDisplayPicture, "x", []byte("gone"))
	go func() {
		_, err := c.FetchObject(context.Background(), obj2)
		errc <- err
	}()
	inv, _ = bob.readSLP()
	bob.sendSLP(inv.Reply(p2p.StatusOK, "", p2p.SessionBody(inv.SessionID())), 0)
	bob.sendSLP(inv.Reply(p2p.StatusDecline, "", p2p.SessionBody(inv.SessionID())), 0)
	if err := <-errc; !errors.Is(err, ErrDeclined) {
		t.Errorf("200 then 603: %v", err)
	}
}

// Requesters of our display picture: Pidgin (no NUL after the object, no
// BYE), aMSN (a NUL), and requests for objects we never published, one of
// them naming a file by its Location (CVE-2010-0013).
func TestReplayServeDisplayPicture(t *testing.T) {
	picture := bytes.Repeat([]byte{0xff, 0xd8, 0, '\r', '\n'}, 700)
	c, n := p2pSignIn(t, "alice@example.com", func(cfg *Config) {
		cfg.DisplayPicture = picture
		cfg.TransferTimeout = time.Second // Pidgin never says BYE: its session is reaped
	})
	bob := ringPeer(t, c, n)
	own := c.DisplayPicture()
	if own == nil || own.SHA1D != p2p.SHA1D(picture) || own.Creator != "alice@example.com" || own.Size != int64(len(picture)) {
		t.Fatalf("own object %+v", own)
	}
	for i, ctx := range []string{own.String(), own.String() + "\x00"} {
		inv := p2p.NewInvite("alice@example.com", "bob@example.com", p2p.EUFObject, uint32(7001+i), 1,
			base64.StdEncoding.EncodeToString([]byte(ctx)))
		invH := bob.sendSLP(inv, 0)
		bob.expectAck(invH)
		ok, _ := bob.readSLP()
		if ok.Status != 200 || ok.CallID != inv.CallID || ok.Branch != inv.Branch || ok.CSeq != 1 || ok.SessionID() != inv.SessionID() ||
			ok.To != "bob@example.com" || ok.From != "alice@example.com" {
			t.Fatalf("200 OK %+v", ok)
		}
		prep := bob.readMessage()
		if prep.Header.SessionID != inv.SessionID() || !bytes.Equal(prep.Data, []byte{0, 0, 0, 0}) || prep.Header.Flags != 0 {
			t.Fatalf("data preparation %+v %q", prep.Header, prep.Data)
		}
		data := bob.readMessage()
		if data.Header.SessionID != inv.SessionID() || data.Header.Flags != p2p.FlagsObjectData || data.AppID != 1 || !bytes.Equal(data.Data, picture) {
			t.Fatalf("data %+v", data.Header)
		}
		bob.ack(data.Header)
		if i == 1 { // aMSN says BYE; Pidgin does not.
			bob.sendSLP(p2p.NewBye("alice@example.com", "bob@example.com", inv.CallID, inv.SessionID()), 0)
			bob.readMessage() // its ACK
		}
	}
	l := c.p2p.link(c, "bob@example.com", "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		n := len(l.sessions)
		l.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions left after their requesters went quiet", n)
		}
		time.Sleep(20 * time.Millisecond)
	}

	for _, obj := range []string{
		p2p.NewObject("alice@example.com", 3, "TFR2C.tmp", []byte("not mine")).String(),
		`<msnobj Creator="alice@example.com" Size="10" Type="2" Location="../../../etc/passwd" Friendly="AAA=" SHA1D="bogus="/>`,
		"not an object",
	} {
		inv := p2p.NewInvite("alice@example.com", "bob@example.com", p2p.EUFObject, 9, 1, base64.StdEncoding.EncodeToString([]byte(obj)))
		bob.expectAck(bob.sendSLP(inv, 0))
		no, _ := bob.readSLP()
		if no.Status != 603 || no.CallID != inv.CallID || no.SessionID() != 9 {
			t.Errorf("%s: %+v", obj, no)
		}
	}

	// Webcam and other applications are declined, not left hanging.
	inv := p2p.NewInvite("alice@example.com", "bob@example.com", p2p.EUFWebcam, 10, 4, "e30=")
	bob.expectAck(bob.sendSLP(inv, 0))
	if no, _ := bob.readSLP(); no.Status != 603 {
		t.Errorf("webcam: %+v", no)
	}
}

// officialInvite is a file INVITE as the official client writes it
// (version-3 context, "CSeq: 0 " with its space), for a file of size.
func officialInvite(to, name string, size uint64, session uint32) *p2p.SLP {
	ctx := make([]byte, 638)
	binary.LittleEndian.PutUint32(ctx, 638)
	binary.LittleEndian.PutUint32(ctx[4:], 3)
	binary.LittleEndian.PutUint64(ctx[8:], size)
	binary.LittleEndian.PutUint32(ctx[16:], 1)
	for i, r := range name {
		binary.LittleEndian.PutUint16(ctx[20+2*i:], uint16(r))
	}
	binary.LittleEndian.PutUint32(ctx[570:], 0xFFFFFFFF)
	return p2p.NewInvite(to, "bob@example.com", p2p.EUFFile, session, 2, base64.StdEncoding.EncodeToString(ctx))
}

// A file from the official client, Pidgin and papyon: a chunked INVITE,
// the direct-connection INVITE after our 200 OK (declined with its own
// content type, so the sender stays on the switchboard), data with the
// footers and flags each sends; one ACK after the last chunk, then BYE.
func TestReplayReceiveFile(t *testing.T) {
	for _, sender := range []struct {
		name   string
		flags  uint32
		footer uint32
	}{
		{"official", p2p.FlagsFileData, 2},
		{"pidgin", p2p.FlagsFileData, 0},
		{"papyon", p2p.FlagFile | p2p.FlagObject, 2},
	} {
		t.Run(sender.name, func(t *testing.T) {
			c, n := p2pSignIn(t, "alice@example.com", nil)
			bob := ringPeer(t, c, n)
			file := bytes.Repeat([]byte("file data "), 500) // 5000 bytes
			inv := officialInvite("alice@example.com", "report.txt", uint64(len(file)), 180646677)
			invH := bob.sendMessage(0, 0, inv.Bytes(), 0, 600) // an INVITE in two chunks
			bob.expectAck(invH)
			offer := waitEvent[*FileOffer](t, c)
			tr := offer.Transfer
			if tr.Name != "report.txt" || tr.Size != 5000 || offer.From != "bob@example.com" || tr.Legacy {
				t.Fatalf("offer %+v", tr)
			}
			var got bytes.Buffer
			if err := tr.Accept(&got); err != nil {
				t.Fatal(err)
			}
			ok, okH := bob.readSLP()
			if ok.Status != 200 || ok.CallID != inv.CallID || ok.SessionID() != 180646677 {
				t.Fatalf("200 OK %+v", ok)
			}
			bob.ack(okH)

			// The direct-connection offer.
			trans := &p2p.SLP{Method: "INVITE", URI: "alice@example.com", To: "alice@example.com", From: "bob@example.com",
				Branch: message.NewGUID(), CallID: inv.CallID, ContentType: p2p.ContentTransRequest,
				Body: message.Fields{{Name: "Bridges", Value: "TCPv1"}, {Name: "NetID", Value: "0"}, {Name: "Conn-Type", Value: "Firewall"},
					{Name: "UPnPNat", Value: "false"}, {Name: "ICF", Value: "false"}}}
			bob.expectAck(bob.sendSLP(trans, 0))
			no, _ := bob.readSLP()
			if no.Status != 603 || no.ContentType != p2p.ContentTransRequest || no.CallID != inv.CallID || no.Branch != trans.Branch {
				t.Fatalf("answer to the direct-connection offer %+v", no)
			}

			data := bob.sendMessage(180646677, sender.flags, file, sender.footer, 0)
			bob.expectAck(data)
			bye, _ := bob.readSLP()
			if bye.Method != "BYE" || bye.CallID != inv.CallID {
				t.Errorf("bye %+v", bye)
			}
			if err := tr.Wait(context.Background()); err != nil || !bytes.Equal(got.Bytes(), file) {
				t.Fatalf("%v, %d bytes", err, got.Len())
			}
		})
	}
}

// The official client's own decline, byte for byte but for the space it
// leaves after the CSeq: our 603 to the captured INVITE.
func TestReplayDeclineCapture(t *testing.T) {
	c, n := p2pSignIn(t, "t2h@hotmail.com", nil)
	bob := ringPeer(t, c, n)
	bob.self = "bob@example.com"
	inv := officialInvite("t2h@hotmail.com", "a.txt", 0, 180646677)
	inv.From = "t1h@hotmail.com"
	inv.Branch, inv.CallID = "{CDE28DAF-B67C-4B2D-8186-D3F46EEF0916}", "{F87327A8-741F-4FEF-AB63-45D06F51A0C2}"
	bob.expectAck(bob.sendSLP(inv, 0))
	tr := waitEvent[*FileOffer](t, c).Transfer
	if err := tr.Decline(); err != nil {
		t.Fatal(err)
	}
	m := bob.readMessage()
	want := "MSNSLP/1.0 603 Decline\r\nTo: <msnmsgr:t1h@hotmail.com>\r\nFrom: <msnmsgr:t2h@hotmail.com>\r\n" +
		"Via: MSNSLP/1.0/TLP ;branch={CDE28DAF-B67C-4B2D-8186-D3F46EEF0916}\r\nCSeq: 1\r\n" +
		"Call-ID: {F87327A8-741F-4FEF-AB63-45D06F51A0C2}\r\nMax-Forwards: 0\r\n" +
		"Content-Type: application/x-msnmsgr-sessionreqbody\r\nContent-Length: 25\r\n\r\nSessionID: 180646677\r\n\r\n\x00"
	if string(m.Data) != want || m.Header.TotalSize != 330 || m.AppID != 0 {
		t.Errorf("decline %+v\n%q", m.Header, m.Data)
	}
}

// A sender's BYE in the middle of a file: the transfer is cancelled, and
// the chunks still in flight after it are dropped without an ACK.
func TestReplayReceiveCancelled(t *testing.T) {
	c, n := p2pSignIn(t, "alice@example.com", nil)
	bob := ringPeer(t, c, n)
	inv := officialInvite("alice@example.com", "big.bin", 10000, 5150)
	bob.expectAck(bob.sendSLP(inv, 0))
	tr := waitEvent[*FileOffer](t, c).Transfer
	tr.Accept(io.Discard)
	bob.readSLP() // 200 OK
	bob.id++
	h := p2p.Header{SessionID: 5150, Identifier: bob.id, TotalSize: 10000, Flags: p2p.FlagsFileData, AckID: 77}
	chunks := p2p.Split(h, make([]byte, 10000), 2, 0)
	bob.send(chunks[0].Header, chunks[0].Data, 2)
	bob.sendSLP(p2p.NewBye("alice@example.com", "bob@example.com", inv.CallID, 5150), 0)
	bob.send(chunks[1].Header, chunks[1].Data, 2)
	bye := bob.readMessage() // the ACK of the BYE, and nothing for the chunks
	if bye.Header.Flags != p2p.FlagACK {
		t.Errorf("%+v", bye.Header)
	}
	if err := tr.Wait(context.Background()); !errors.Is(err, ErrCancelled) {
		t.Errorf("%v", err)
	}
	// The next thing the client sends is for something new.
	go c.FetchObject(context.Background(), p2p.NewObject("bob@example.com", 3, "x", []byte("y")))
	if next, _ := bob.readSLP(); next.Method != "INVITE" {
		t.Errorf("%+v", next)
	}
}

// Sending a file: the data goes with the flags and footer Pidgin and the
// official client expect, in 1202-byte chunks paced by the switchboard's
// ACKs; the receiver's BYE midway stops it.
func TestReplaySendFile(t *testing.T) {
	c, n := p2pSignIn(t, "alice@example.com", nil)
	bob := ringPeer(t, c, n)
	file := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 1000) // 7000 bytes
	tr, err := c.SendFile(context.Background(), "bob@example.com", File{Name: "seven.bin", Size: 7000, Reader: bytes.NewReader(file)})
	if err != nil {
		t.Fatal(err)
	}
	inv, invH := bob.readSLP()
	if inv.EUFGUID() != p2p.EUFFile || inv.AppID() != 2 {
		t.Fatalf("%+v", inv)
	}
	ctx, _ := base64.StdEncoding.DecodeString(inv.Context())
	fc, err := p2p.ParseFileContext(ctx)
	if err != nil || len(ctx) != 574 || fc.Version != 2 || fc.Name != "seven.bin" || fc.Size != 7000 || fc.Type != p2p.ContextNoPreview {
		t.Fatalf("context %+v %v", fc, err)
	}
	bob.ack(invH)
	bob.sendSLP(inv.Reply(200, "", p2p.SessionBody(inv.SessionID())), 0)
	bob.readMessage() // ACK of the 200
	var got []byte
	var last p2p.Header
	for len(got) < 7000 {
		pkt := bob.read()
		h := pkt.Header
		if h.SessionID != inv.SessionID() || h.Flags != p2p.FlagsFileData || pkt.AppID != 2 || h.TotalSize != 7000 ||
			h.DataOffset != uint64(len(got)) || h.Length > 1202 || len(got)+int(h.Length) < 7000 && h.Length != 1202 {
			t.Fatalf("chunk %+v footer %d", h, pkt.AppID)
		}
		got = append(got, pkt.Data...)
		last = h
	}
	if !bytes.Equal(got, file) {
		t.Fatal("data differs")
	}
	bob.ack(last)
	if err := tr.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The receiver says BYE after two chunks of a larger file.
	tr, _ = c.SendFile(context.Background(), "bob@example.com", File{Name: "zeros", Size: 1 << 30, Reader: zeroReader{}})
	inv, _ = bob.readSLP()
	bob.sendSLP(inv.Reply(200, "", p2p.SessionBody(inv.SessionID())), 0)
	bob.readMessage()
	for range 2 {
		bob.read()
	}
	bob.sendSLP(p2p.NewBye("alice@example.com", "bob@example.com", inv.CallID, inv.SessionID()), 0)
	if err := tr.Wait(context.Background()); !errors.Is(err, ErrCancelled) {
		t.Errorf("after the receiver's BYE: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// A wink as aMSN sends it, its datacast split over two MSGs; custom
// emoticons as Pidgin announces them (URL-encoded, no final tab).
func TestReplayWinkAndEmoticons(t *testing.T) {
	c, n := p2pSignIn(t, "alice@example.com", nil)
	bob := ringPeer(t, c, n)
	obj := `<msnobj Creator="bob@example.com" Size="12345" Type="8" Location="TFR6.tmp" Friendly="AAA=" SHA1D="d2luaw==" stamp="` +
		strings.Repeat("MIIb", 500) + `"/>`
	parts, err := message.Split(message.NewDatacast(message.DatacastWink, message.Field{Name: "Data", Value: obj}), 1202)
	if err != nil || len(parts) < 2 {
		t.Fatalf("%d parts, %v", len(parts), err)
	}
	for _, p := range parts {
		bob.sb.sendPayload("MSG bob@example.com Bob", p.String())
	}
	w := waitEvent[*Wink](t, c)
	if w.From != "bob@example.com" || w.Object.String() != obj || w.Object.Size != 12345 {
		t.Errorf("wink %+v", w.Object)
	}

	em := "MIME-Version: 1.0\r\nContent-Type: text/x-mms-emoticon\r\n\r\n" +
		":a:\t%3Cmsnobj%20Creator%3D%22bob%40example.com%22%20Size%3D%221%22%20Type%3D%222%22%20SHA1D%3D%22YQ%3D%3D%22%2F%3E"
	bob.sb.sendPayload("MSG bob@example.com Bob", em)
	e := waitEvent[*Emoticons](t, c)
	if len(e.Emoticons) != 1 || e.Emoticons[0].Shortcut != ":a:" || e.Emoticons[0].Object.Creator != "bob@example.com" {
		t.Errorf("%+v", e)
	}
}

// An MSN Messenger 4 file invitation, the MSNFTP connection to the
// sender, and an invitation for an application this client does not run.
func TestReplayLegacyInvitation(t *testing.T) {
	c, n := signedIn(t) // MSNP7
	sbs := newScriptServer(t)
	n.send("RNG 1 " + sbs.addr() + " CKI 5.5 bob@example.com Bob")
	sb := sbs.accept()
	sb.expect("ANS 1 alice@example.com 5.5 1")
	sb.send("IRO 1 1 1 bob@example.com Bob", "ANS 1 OK")
	waitEvent[*Invited](t, c)

	invite := func(body string) {
		sb.sendPayload("MSG bob@example.com Bob", "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\n"+body)
	}
	readInvitation := func() msnftp.Invitation {
		t.Helper()
		cmd := sb.read()
		sb.send("ACK " + strconv.FormatUint(uint64(cmd.TrID), 10))
		m, err := message.Parse(cmd.Payload)
		if err != nil || m.Kind() != message.KindInvite {
			t.Fatalf("%q", cmd.Payload)
		}
		inv, err := msnftp.ParseInvitation(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}

	invite("Application-Name: NetMeeting\r\nApplication-GUID: {44BBA842-CC51-11CF-AAFA-00AA00B6015C}\r\n" +
		"Invitation-Command: INVITE\r\nInvitation-Cookie: 777\r\nSession-Protocol: SM1\r\n\r\n")
	if r := readInvitation(); r.Command != "CANCEL" || r.Cookie != "777" || r.CancelCode != "REJECT_NOT_INSTALLED" {
		t.Errorf("%+v", r)
	}

	invite("Application-Name: File Transfer\r\nApplication-GUID: {5D3E02AB-6190-11d3-BBBB-00C04F795683}\r\n" +
		"Invitation-Command: INVITE\r\nInvitation-Cookie: 33267\r\nApplication-File: readme.txt\r\nApplication-FileSize: 11\r\n\r\n")
	offer := waitEvent[*FileOffer](t, c)
	if !offer.Transfer.Legacy || offer.Transfer.Name != "readme.txt" || offer.Transfer.Size != 11 {
		t.Fatalf("%+v", offer.Transfer)
	}
	var got bytes.Buffer
	offer.Transfer.Accept(&got)
	if r := readInvitation(); r.Command != "ACCEPT" || r.Cookie != "33267" {
		t.Fatalf("%+v", r)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	invite("Invitation-Command: ACCEPT\r\nInvitation-Cookie: 33267\r\nIP-Address: 127.0.0.1\r\nPort: " + strconv.Itoa(port) +
		"\r\nAuthCookie: 93301\r\nLaunch-Application: FALSE\r\nRequest-Data: IP-Address:\r\n\r\n")
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	line := func(want string) {
		t.Helper()
		got, err := r.ReadString('\n')
		if err != nil || got != want+"\r\n" {
			t.Fatalf("got %q %v, want %q", got, err, want)
		}
	}
	line("VER MSNFTP")
	io.WriteString(conn, "VER MSNFTP\r\n")
	line("USR alice@example.com 93301")
	io.WriteString(conn, "FIL 11\r\n")
	line("TFR")
	conn.Write([]byte("\x00\x06\x00hello \x00\x05\x00world"))
	line("BYE 16777989")
	if err := offer.Transfer.Wait(context.Background()); err != nil || got.String() != "hello world" {
		t.Fatalf("%v %q", err, got.String())
	}
}
