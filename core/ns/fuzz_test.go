package ns_test

import (
	"net"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
)

// FuzzNotificationServer throws arbitrary bytes at a real server, before
// and after sign-in, and checks that it keeps serving a signed-in user.
func FuzzNotificationServer(f *testing.F) {
	seeds := []string{
		"VER 1 MSNP8 CVR0\r\nCVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.5.0324 MSMSGS a@b.c\r\nUSR 3 TWN I a@b.c\r\n",
		"VER 1 MSNP2\r\nINF 2\r\nUSR 3 MD5 I x@y.z\r\nUSR 4 MD5 S 0123\r\n",
		"SYN 5 0 0\r\nADC 6 FL N=bob@example.com F=Bob\r\nADG 7 Friends\r\nCHG 8 NLN 0\r\n",
		"UUX 9 10\r\n<Data></Da",
		"ADD 1 FL %%%% %zz 99999999999\r\nREM 2 FL\r\nRMG 3\r\nREG 4 x\r\nBLP 5 ZZ\r\n",
		"QRY 1 PROD0090YUAUV{2B 32\r\n0123456789abcdef0123456789abcdef",
		"XFR 1 SB\r\nURL 2 INBOX\r\nGCF 3 Shields.xml\r\nPNG\r\nSBP 4 x MFN y\r\nPRP 5 MFN\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	srv := coretest.Start(f, coretest.WithoutChallenges())
	srv.AddUser(f, "fuzz@example.com", "pw", "Fuzz")
	srv.AddUser(f, "bob@example.com", "pw", "Bob")
	watcher := login(f, srv, 12, "bob@example.com", "pw")

	f.Fuzz(func(t *testing.T, data []byte, signedIn bool) {
		var conn net.Conn
		if signedIn {
			w := login(t, srv, 12, "fuzz@example.com", "pw")
			conn = w.conn
		} else {
			c, err := net.Dial("tcp", srv.NSAddr)
			if err != nil {
				t.Fatal(err)
			}
			conn = c
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(time.Second))
		conn.Write(data)
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		for {
			if _, err := conn.Read(buf); err != nil {
				break
			}
		}
		// The server still answers someone else.
		watcher.t = t
		watcher.conn.Write([]byte("PNG\r\n"))
		for {
			c := watcher.next()
			if c.Name == "QNG" {
				break
			}
		}
	})
}

// FuzzLiveNotificationServer is FuzzNotificationServer for a signed-in
// Windows Live Messenger session (MSNP18): the address book commands, the
// endpoint notices and the group-chat ones.
func FuzzLiveNotificationServer(f *testing.F) {
	for _, s := range []string{
		"ADL 5 62\r\n<ml l=\"1\"><d n=\"example.com\"><c n=\"bob\" l=\"3\" t=\"1\"/></d></ml>",
		"ADL 5 47\r\n<ml><d n=\"example.com\"><c n=\"bob\" l=\"3\"/></d></ml>RML 6 10\r\n<ml></ml>",
		"FQY 7 44\r\n<ml><d n=\"example.com\"><c n=\"bob\"/></d></ml>",
		"UUN 8 bob@example.com;{00000000-0000-0000-0000-000000000001} 4 14\r\ngoawyplzthxbye",
		"UUM 9 bob@example.com 1 1 44\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi",
		"UUX 10 51\r\n<EndpointData><Capabilities>1:2</Capabilities></EndpointData>",
		"PUT 11 3\r\nabcSDG 12 1\r\nxDEL 13 1\r\nyUSR 14 SHA A eA==\r\nCHG 15 NLN 2788999228:48 0\r\n",
	} {
		f.Add([]byte(s))
	}
	srv := coretest.Start(f, coretest.WithoutChallenges())
	srv.AddUser(f, "fuzz@example.com", "pw", "Fuzz")
	srv.AddUser(f, "bob@example.com", "pw", "Bob")
	watcher := login(f, srv, 12, "bob@example.com", "pw")
	f.Fuzz(func(t *testing.T, data []byte) {
		w := loginLive(t, srv, 18, "fuzz@example.com", "pw", guid(1))
		w.conn.SetDeadline(time.Now().Add(time.Second))
		w.conn.Write(data)
		buf := make([]byte, 4096)
		w.conn.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		for {
			if _, err := w.conn.Read(buf); err != nil {
				break
			}
		}
		w.conn.Close()
		watcher.t = t
		watcher.conn.Write([]byte("PNG\r\n"))
		for {
			if c := watcher.next(); c.Name == "QNG" {
				break
			}
		}
	})
}
