// Package passport is the Passport side of MSNP8 and later sign-in: the
// HTTP(S) endpoints a client calls between "USR TWN I" and "USR TWN S", and
// the tickets that connect the two.
//
// A client signs in to Passport with its password — by Passport 1.4
// (nexus, then login2.srf) or by a WS-Trust RequestSecurityToken (RST.srf) —
// and gets back a ticket. It hands the ticket to the Notification server in
// "USR n TWN S t=<ticket>&p=", which calls TicketFromUSR and Tickets.Redeem.
// Tickets are short-lived, single use and only good for the address they
// were issued to.
//
// Handler serves the endpoints; OpenCertificates gives them a certificate
// from a small local CA — the one file clients trust — and a TLS
// configuration that vintage Windows clients can use.
package passport
