// Package auth implements the authentication helpers of the MSN Messenger
// protocol (MSNP): the MD5 login hash of MSNP2–7, the CHL/QRY challenge
// answers of MSNP6 and later, and the Passport 1.4 ("Tweener") ticket and
// header formats used by MSNP8 and later.
//
// The package has no state and depends only on the standard library, so both
// servers and clients can import it on its own.
//
// # MD5 login (MSNP2–7)
//
// The server sends a salt in "USR trid MD5 S <salt>"; the client answers with
// [MD5Digest] of the salt and its password.
//
// # Challenges (MSNP6 and later)
//
// At any time after sign-in the notification server may send
// "CHL 0 <challenge>". The client must answer with
// "QRY trid <productID> 32" followed by a 32-character hex digest computed
// from the challenge and the private key that goes with its product ID.
// MSNP6–10 use md5(challenge+key) ([ChallengeAnswerMD5]); MSNP11 and later use
// the keyed hash described at [ChallengeAnswerMSNP11]. A server makes a
// challenge with [NewChallenge] and checks the reply with [VerifyQRY]; a
// client answers with [AnswerChallenge]. [ProductKeys] lists the known
// product ID / private key pairs.
//
// # Passport 1.4 (MSNP8 and later)
//
// Clients of MSNP8–12 fetch the login server address from the nexus
// ("PassportURLs" header, [ParsePassportURLs]), then log in with an
// "Authorization: Passport1.4 …" request header ([PassportAuthorization])
// and receive the ticket in the "Authentication-Info" response header
// ([ParseAuthenticationInfo]). The ticket string, "t=<ticket>&p=<profile>",
// is then sent in "USR trid TWN S"; see [FormatTicket] and [ParseTicket].
//
// Every parser in this package reads network input: none of them panics, and
// malformed input is reported as an error.
package auth
