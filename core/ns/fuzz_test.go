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
