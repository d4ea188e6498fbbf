package msnp

import "strconv"

// ErrorCode is a numeric MSNP error reply, sent in place of a command name:
// "201 7" answers the request with TrID 7 with ErrInvalidParameter.
type ErrorCode uint16

// The error codes of MSNP2–MSNP12 and their meanings.
const (
	ErrSyntax                ErrorCode = 200 // syntax error
	ErrInvalidParameter      ErrorCode = 201 // invalid parameter
	ErrInvalidNetwork        ErrorCode = 204 // invalid network id (ADL/RML)
	ErrNoSuchUser            ErrorCode = 205 // invalid principal: the account does not exist
	ErrDomainMissing         ErrorCode = 206 // domain name missing
	ErrAlreadyLoggedIn       ErrorCode = 207 // already logged in
	ErrInvalidPrincipal      ErrorCode = 208 // invalid principal (user name)
	ErrNicknameChangeIllegal ErrorCode = 209 // nickname change illegal
	ErrListFull              ErrorCode = 210 // principal list full
	ErrAlreadyThere          ErrorCode = 215 // principal already on list, or already in the session
	ErrNotOnList             ErrorCode = 216 // principal not on list
	ErrNotOnline             ErrorCode = 217 // principal not online
	ErrAlreadyInMode         ErrorCode = 218 // already in that mode
	ErrInOppositeList        ErrorCode = 219 // principal is in the opposite list
	ErrTooManyGroups         ErrorCode = 223 // too many groups
	ErrInvalidGroup          ErrorCode = 224 // invalid group
	ErrNotInGroup            ErrorCode = 225 // principal not in group
	ErrGroupExists           ErrorCode = 228 // group already exists
	ErrGroupNameTooLong      ErrorCode = 229 // group name too long
	ErrCannotRemoveGroupZero ErrorCode = 230 // cannot remove group 0
	ErrGroupDoesNotExist     ErrorCode = 231 // group does not exist
	ErrEmptyDomain           ErrorCode = 240 // ADL/RML: empty domain
	ErrInvalidXML            ErrorCode = 241 // ADL/RML: invalid XML or membership
	ErrSwitchboardFailed     ErrorCode = 280 // switchboard failed
	ErrTransferFailed        ErrorCode = 281 // transfer to switchboard failed
	ErrP2PMalformed          ErrorCode = 282 // malformed P2P data (MSG D)
	ErrFieldMissing          ErrorCode = 300 // required field missing
	ErrTooManyHits           ErrorCode = 301 // too many FND hits
	ErrNotLoggedIn           ErrorCode = 302 // not logged in
	ErrListUnavailable       ErrorCode = 402 // contact list unavailable
	ErrListAccess            ErrorCode = 403 // error accessing contact list
	ErrInternal              ErrorCode = 500 // internal server error
	ErrDatabase              ErrorCode = 501 // database server error
	ErrCommandDisabled       ErrorCode = 502 // command disabled
	ErrUPSFailure            ErrorCode = 509 // mobile (UPS) failure
	ErrFileOperation         ErrorCode = 510 // file operation error
	ErrMemoryAllocation      ErrorCode = 520 // memory allocation error
	ErrChallengeFailed       ErrorCode = 540 // challenge response failed
	ErrServerBusy            ErrorCode = 600 // server busy
	ErrServerUnavailable     ErrorCode = 601 // server unavailable
	ErrPeerNSDown            ErrorCode = 602 // peer notification server down
	ErrDatabaseConnect       ErrorCode = 603 // database connect error
	ErrServerGoingDown       ErrorCode = 604 // server going down
	ErrServerUnavailable2    ErrorCode = 605 // server unavailable
	ErrCreateConnection      ErrorCode = 707 // error creating connection
	ErrCVRParameters         ErrorCode = 710 // CVR parameters unknown or not allowed
	ErrWriteBlocking         ErrorCode = 711 // unable to write: write is blocking
	ErrSessionOverload       ErrorCode = 712 // session overload
	ErrTooActive             ErrorCode = 713 // user too active: too many calls
	ErrTooManySessions       ErrorCode = 714 // too many sessions
	ErrNotExpected           ErrorCode = 715 // not expected (out of order)
	ErrBadFriendFile         ErrorCode = 717 // bad friend file
	ErrBadCVR                ErrorCode = 731 // not expected: badly formatted CVR
	ErrNameChangeTooRapid    ErrorCode = 800 // friendly name changes too rapidly
	ErrServerTooBusy         ErrorCode = 910 // server too busy
	ErrAuthFailed            ErrorCode = 911 // authentication failed
	ErrServerTooBusy2        ErrorCode = 912 // server too busy
	ErrNotAllowedWhenHidden  ErrorCode = 913 // not allowed when offline or hidden
	ErrServerUnavailable3    ErrorCode = 914 // server unavailable
	ErrServerUnavailable4    ErrorCode = 915 // server unavailable
	ErrServerUnavailable5    ErrorCode = 916 // server unavailable
	ErrAuthFailed2           ErrorCode = 917 // authentication failed
	ErrServerTooBusy3        ErrorCode = 918 // server too busy
	ErrServerTooBusy4        ErrorCode = 919 // server too busy
	ErrNotAcceptingNewUsers  ErrorCode = 920 // not accepting new users
	ErrServerTooBusy5        ErrorCode = 921 // server too busy
	ErrServerTooBusy6        ErrorCode = 922 // server too busy
	ErrKidsWithoutConsent    ErrorCode = 923 // kids' Passport without parental consent
	ErrPassportNotVerified   ErrorCode = 924 // Passport account not yet verified
	ErrBadTicket             ErrorCode = 928 // bad ticket
)

var errorText = map[ErrorCode]string{
	ErrSyntax: "syntax error", ErrInvalidParameter: "invalid parameter", ErrInvalidNetwork: "invalid network id",
	ErrNoSuchUser: "no such user", ErrDomainMissing: "domain name missing", ErrAlreadyLoggedIn: "already logged in",
	ErrInvalidPrincipal: "invalid user name", ErrNicknameChangeIllegal: "nickname change illegal",
	ErrListFull: "list full", ErrAlreadyThere: "already there", ErrNotOnList: "not on list",
	ErrNotOnline: "user not online", ErrAlreadyInMode: "already in that mode", ErrInOppositeList: "in the opposite list",
	ErrTooManyGroups: "too many groups", ErrInvalidGroup: "invalid group", ErrNotInGroup: "not in group",
	ErrGroupExists: "group already exists", ErrGroupNameTooLong: "group name too long",
	ErrCannotRemoveGroupZero: "cannot remove group 0", ErrGroupDoesNotExist: "group does not exist",
	ErrEmptyDomain: "empty domain", ErrInvalidXML: "invalid XML", ErrSwitchboardFailed: "switchboard failed",
	ErrTransferFailed: "transfer to switchboard failed", ErrP2PMalformed: "malformed P2P data",
	ErrFieldMissing: "required field missing", ErrTooManyHits: "too many hits", ErrNotLoggedIn: "not logged in",
	ErrListUnavailable: "contact list unavailable", ErrListAccess: "error accessing contact list",
	ErrInternal: "internal server error", ErrDatabase: "database error", ErrCommandDisabled: "command disabled",
	ErrUPSFailure: "mobile paging failure", ErrFileOperation: "file operation error",
	ErrMemoryAllocation: "memory allocation error", ErrChallengeFailed: "challenge response failed",
	ErrServerBusy: "server busy", ErrServerUnavailable: "server unavailable", ErrPeerNSDown: "peer server down",
	ErrDatabaseConnect: "database connect error", ErrServerGoingDown: "server going down",
	ErrServerUnavailable2: "server unavailable", ErrCreateConnection: "error creating connection",
	ErrCVRParameters: "CVR parameters not allowed", ErrWriteBlocking: "write is blocking",
	ErrSessionOverload: "session overload", ErrTooActive: "too many requests", ErrTooManySessions: "too many sessions",
	ErrNotExpected: "not expected", ErrBadFriendFile: "bad friend file", ErrBadCVR: "badly formatted CVR",
	ErrNameChangeTooRapid: "name changes too rapidly", ErrServerTooBusy: "server too busy",
	ErrAuthFailed: "authentication failed", ErrServerTooBusy2: "server too busy",
	ErrNotAllowedWhenHidden: "not allowed when offline or hidden", ErrServerUnavailable3: "server unavailable",
	ErrServerUnavailable4: "server unavailable", ErrServerUnavailable5: "server unavailable",
	ErrAuthFailed2: "authentication failed", ErrServerTooBusy3: "server too busy", ErrServerTooBusy4: "server too busy",
	ErrNotAcceptingNewUsers: "not accepting new users", ErrServerTooBusy5: "server too busy",
	ErrServerTooBusy6: "server too busy", ErrKidsWithoutConsent: "kids' account without parental consent",
	ErrPassportNotVerified: "account not verified", ErrBadTicket: "bad ticket",
}

// Name is the code as it appears on the wire, such as "201".
func (e ErrorCode) Name() string { return strconv.Itoa(int(e)) }

// String is the code and its meaning, such as "201 invalid parameter".
func (e ErrorCode) String() string {
	if t, ok := errorText[e]; ok {
		return e.Name() + " " + t
	}
	return e.Name() + " unknown error"
}

// Error makes ErrorCode an error, so that a client can return a server's
// refusal as it is.
func (e ErrorCode) Error() string { return "msnp: server replied " + e.String() }
