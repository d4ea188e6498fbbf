// Package store keeps what the MSN service must never forget: accounts,
// their passwords, their four lists (FL, AL, BL, RL) and their groups.
//
// Presence and switchboards are not here: they live in memory and are rebuilt
// from connections after a restart. Everything here is durable once a call
// returns without error; the server acknowledges a list change to the client
// only after that.
//
// Store is the seam between the service and its database. Open returns the
// SQLite implementation (the default, one file under the data directory);
// PostgreSQL implements the same interface for deployments that outgrow one
// machine.
package store

import (
	"context"
	"errors"
	"time"
)

// List is a bit set of the MSN contact lists, with the bit values the
// protocol uses on the wire (LST's list mask in MSNP8+).
type List uint8

const (
	Forward List = 1 << iota // FL: people I watch
	Allow                    // AL: people who may see me and talk to me
	Block                    // BL: people who may not
	Reverse                  // RL: people who have me on their FL (kept by the server)
	Pending                  // PL: added me and not yet answered (MSNP10+)
)

// Pending is kept by the store: adding someone to FL puts the adder on
// their RL and, unless they already have the adder on AL or BL, on their
// PL too; putting the adder on AL or BL answers it (PL is cleared), and so
// does RemoveFromList(…, Pending, …) — the address book's "decline".

// Privacy is a user's BLP setting: what happens to people on neither AL nor BL.
type Privacy string

const (
	AllowByDefault Privacy = "AL" // everyone not blocked may see and contact me
	BlockByDefault Privacy = "BL" // only people on AL may
)

// Account is one user of the service.
type Account struct {
	Email        string // the handle, lower-case, unique
	FriendlyName string
	Privacy      Privacy
	PromptOnAdd  bool  // GTC A (true) or N (false)
	ListVersion  int64 // increases on every change to the account's lists, groups or settings
	Created      time.Time

	// CID is the account's public number (the address book's CID, the
	// profile's MemberIdLow/High): random, positive, unique.
	CID int64
	// Changed is when the account's address book last changed: its lists,
	// groups, annotations or settings (the address book's lastChange).
	// It only ever increases, by at least a millisecond per change.
	Changed time.Time
	// Sizes are how many entries each list holds.
	Sizes ListSizes
}

// ListSizes counts the entries of each list, kept with every change
// rather than counted (an RL may be very long).
type ListSizes struct {
	Forward, Allow, Block, Reverse, Pending int
}

// Contact is one entry of an account's contact list: another handle and the
// lists it is on. One Contact row covers all four lists of that handle.
type Contact struct {
	Email        string
	FriendlyName string   // the name the owner last saw for it
	GUID         string   // stable contact id, MSNP10+ (C=)
	Lists        List     // which lists it is on
	Groups       []string // GUIDs of the groups it is in (FL only)
	// Type is the address book's contactType ("Regular" unless the
	// address book set another, such as "LivePending").
	Type string
}

// Group is one of an account's contact groups. Group 0 ("Other Contacts" in
// MSNP7–9) is implicit and never stored.
type Group struct {
	Number int    // MSNP7–9 group id, 1..; unique per owner
	GUID   string // MSNP10+ group id
	Name   string
}

// Change describes the result of a list change.
type Change struct {
	Version int64   // the owner's new list version
	Contact Contact // the entry after the change (zero when it was removed)

	// Reverse is true when the change also changed the other side's RL
	// (adding to or removing from FL); ReverseVersion is then the other
	// account's new list version, for the "ADD 0 RL" / "REM 0 RL" notice.
	Reverse        bool
	ReverseVersion int64
}

// ContactPair is one FL entry of AddContacts.
type ContactPair struct {
	Owner, Contact string
}

// MD5Secret is what an MSNP2–7 MD5 login needs: a per-user salt sent in
// "USR MD5 S" and the lower-case hex md5(salt+password) the client must send
// back. The password itself is never stored.
type MD5Secret struct {
	Salt   string
	Digest string
}

// Errors every implementation returns, so callers can map them to MSNP codes.
var (
	ErrNotFound       = errors.New("no such account")
	ErrExists         = errors.New("account already exists")
	ErrBadPassword    = errors.New("wrong password")
	ErrInvalidEmail   = errors.New("not a valid e-mail address")
	ErrInvalidName    = errors.New("name too long or not valid")
	ErrAlreadyOnList  = errors.New("already on that list")
	ErrNotOnList      = errors.New("not on that list")
	ErrOppositeList   = errors.New("already on the opposite list (AL vs BL)")
	ErrListFull       = errors.New("list is full")
	ErrNoSuchGroup    = errors.New("no such group")
	ErrGroupExists    = errors.New("group already exists")
	ErrTooManyGroups  = errors.New("too many groups")
	ErrNotInGroup     = errors.New("contact is not in that group")
	ErrAlreadyInGroup = errors.New("contact already in that group")
	ErrSameValue      = errors.New("setting already has that value")
	ErrBatchTooLarge  = errors.New("too many accounts in one batch")
	// ErrFullSync: a delta asked for changes since a time older than the
	// store remembers removals (RemovalMemory); only a full read is right.
	ErrFullSync = errors.New("changes since then are no longer known; read everything")
	// ErrMailboxFull: the recipient already has MaxOffline offline messages.
	ErrMailboxFull = errors.New("too many offline messages waiting for that user")
	// ErrInvalidMessage: an offline message without a sender, or too large.
	ErrInvalidMessage = errors.New("offline message not valid")
	// ErrInvalidAnnotation: an annotation name or value that is empty (a
	// name), too long, not UTF-8, or one too many.
	ErrInvalidAnnotation = errors.New("annotation not valid")

	// ErrInvalidList: the call named a list a client may not change
	// (RL and PL are kept by the store), or a group with a list other than FL.
	ErrInvalidList = errors.New("not a list that can be changed this way")
	// ErrInvalidPassword: empty, or longer than MaxPassword bytes.
	ErrInvalidPassword = errors.New("password empty or too long")
	// ErrInvalidPrivacy: a Privacy other than AllowByDefault or BlockByDefault.
	ErrInvalidPrivacy = errors.New("privacy must be AL or BL")
)

// Limits the store enforces (the figures MSN used in 2005).
const (
	MaxForward = 600 // FL entries
	// DefaultMaxReverse caps RL: how many people may have one user on their
	// FL. MSN's 2005 figure was 1000, but a bot is a contact everyone may
	// add, so the default is far higher (Options.MaxReverse changes it).
	DefaultMaxReverse = 100_000
	MaxGroups         = 30
	MaxGroupName      = 61  // bytes
	MaxFriendly       = 387 // bytes
	MaxEmailLength    = 129 // bytes
	MaxPassword       = 72  // bytes; bcrypt ignores anything longer, so it is refused

	// Annotations (address book name/value pairs such as AB.NickName or
	// MSN.IM.MPOP) per account or contact.
	MaxAnnotations     = 32
	MaxAnnotationName  = 128  // bytes
	MaxAnnotationValue = 1024 // bytes
	MaxContactType     = 32   // bytes

	// RemovalMemory is how long the store remembers that an entry or
	// group was removed, for address book deltas (ErrFullSync beyond it).
	RemovalMemory = 30 * 24 * time.Hour

	// Offline messages: DefaultMaxOffline per recipient (Options.MaxOffline),
	// kept DefaultOfflineLifetime (Options.OfflineLifetime), bodies of at
	// most MaxOfflineBody bytes.
	DefaultMaxOffline      = 100
	DefaultOfflineLifetime = 30 * 24 * time.Hour
	MaxOfflineBody         = 16 << 10
)

// maxAllowBlock caps AL and BL: each may hold everyone who could be on the
// owner's FL or RL, and no more.
func maxAllowBlock(maxReverse int) int { return MaxForward + maxReverse }

// Store is the durable state of the service. Implementations are safe for
// concurrent use. Handles are compared case-insensitively; implementations
// store them lower-case.
type Store interface {
	// Accounts.
	CreateAccount(ctx context.Context, email, password, friendlyName string) (Account, error)
	Account(ctx context.Context, email string) (Account, error)
	// SignInAccount is Account and LastAccountEvent read together, in one
	// statement: what a sign-in reads once the password is checked.
	SignInAccount(ctx context.Context, email string) (a Account, lastEvent int64, err error)
	// ListVersion is the account's Account.ListVersion alone: every
	// change to its lists, groups or settings moves it, so a copy read
	// with the same version is current.
	ListVersion(ctx context.Context, email string) (int64, error)
	Accounts(ctx context.Context) ([]Account, error)
	DeleteAccount(ctx context.Context, email string) error
	SetPassword(ctx context.Context, email, password string) error
	// CheckPassword verifies a password against its slow hash.
	CheckPassword(ctx context.Context, email, password string) (Account, error)
	// MD5Secret returns the salt and digest for an MSNP2–7 MD5 login.
	MD5Secret(ctx context.Context, email string) (MD5Secret, error)
	// CreateAccounts and DeleteAccounts make and remove many accounts at
	// once (load tests); the created ones share one password hash.
	CreateAccounts(ctx context.Context, emails []string, password string, bcryptCost int) error
	DeleteAccounts(ctx context.Context, emails []string) error
	// AddContacts puts each pair's Contact on its Owner's FL, as AddToList
	// does, all in one transaction (load tests give thousands of accounts
	// contact lists). A pair already on the FL is left as it is; an unknown
	// account is ErrNotFound and nothing changes.
	AddContacts(ctx context.Context, pairs []ContactPair) error

	// Settings; each returns the new list version. Setting a value that is
	// already set returns ErrSameValue (the protocol's 218).
	SetFriendlyName(ctx context.Context, email, name string) (int64, error)
	SetPrivacy(ctx context.Context, email string, p Privacy) (int64, error)
	SetPromptOnAdd(ctx context.Context, email string, prompt bool) (int64, error)

	// Lists. Contacts returns the whole contact list with the groups.
	Contacts(ctx context.Context, owner string) ([]Contact, []Group, error)
	// AddToList puts contact on one of owner's lists (FL, AL or BL; RL is
	// kept by the store). Adding to FL requires the contact's account to
	// exist (ErrNotFound) and also puts owner on the contact's RL. group is a
	// group GUID or "" for none (FL only).
	AddToList(ctx context.Context, owner, contact string, l List, friendlyName, group string) (Change, error)
	// RemoveFromList takes contact off one list (FL removal also takes owner
	// off the contact's RL). With a group GUID and FL, it only takes the
	// contact out of that group.
	RemoveFromList(ctx context.Context, owner, contact string, l List, group string) (Change, error)
	// ContactByGUID finds an entry of owner's list by its GUID (MSNP10+ REM/ADC).
	ContactByGUID(ctx context.Context, owner, guid string) (Contact, error)
	// SetContactName stores the friendly name owner sees for contact (REA on a contact, SBP).
	SetContactName(ctx context.Context, owner, contact, name string) (int64, error)
	// Listed reports which of owner's lists contact is on (0 when none).
	// It is on the presence path: implementations keep it cheap.
	Listed(ctx context.Context, owner, contact string) (List, error)
	// Watchers returns the accounts that have email on their FL (its RL).
	Watchers(ctx context.Context, email string) ([]Contact, error)

	// Groups.
	AddGroup(ctx context.Context, owner, name string) (Group, int64, error)
	RenameGroup(ctx context.Context, owner, guid, name string) (Group, int64, error)
	RemoveGroup(ctx context.Context, owner, guid string) (int64, error)
	// GroupByNumber maps an MSNP7–9 numeric group id to its group.
	GroupByNumber(ctx context.Context, owner string, number int) (Group, error)
	AddToGroup(ctx context.Context, owner, contact, guid string) (int64, error)

	// The address book (MSNP13+ clients read their lists through it).
	// AddressBook returns owner's whole book, or with a non-zero since only
	// what changed after it (ErrFullSync when that is too long ago).
	AddressBook(ctx context.Context, owner string, since time.Time) (AddressBook, error)
	// Annotate sets annotations of owner's entry for contact, or of owner
	// itself when contact is ""; an empty value removes one. It returns the
	// new list version (the current one when nothing changed).
	Annotate(ctx context.Context, owner, contact string, annotations map[string]string) (int64, error)
	// SetContactType sets the address book's contactType of an entry.
	SetContactType(ctx context.Context, owner, contact, contactType string) (int64, error)
	// AccountByCID finds an account by its CID.
	AccountByCID(ctx context.Context, cid int64) (Account, error)

	// Offline messages, kept for a recipient until read or expired.
	// StoreOffline fills in the ID and Sent time when they are empty and
	// returns the message as stored; ErrNotFound when the recipient has no
	// account, ErrMailboxFull when too many wait.
	StoreOffline(ctx context.Context, m OfflineMessage) (OfflineMessage, error)
	// OfflineMessages returns what waits for recipient, oldest first.
	OfflineMessages(ctx context.Context, recipient string) ([]OfflineMessage, error)
	// OfflineWaiting reports whether any (unexpired) message waits for
	// recipient: what a sign-in asks, far cheaper than reading none.
	OfflineWaiting(ctx context.Context, recipient string) (bool, error)
	// DeleteOfflineMessages deletes recipient's messages with these IDs and
	// returns how many there were.
	DeleteOfflineMessages(ctx context.Context, recipient string, ids []string) (int, error)
	// ExpireOffline deletes every message whose time has passed and returns
	// how many.
	ExpireOffline(ctx context.Context) (int, error)

	// The roaming profile (profile.go): what the storage service keeps
	// of an account besides its name. Profile returns ErrNotFound for no
	// account and a zero Profile for one that never set anything.
	// SetPersonalMessage stores the personal message ("" clears it);
	// SetPicture stores the display picture (nil data removes it) under a
	// new random ID; PictureByID returns a picture with its bytes, or
	// ErrNotFound.
	Profile(ctx context.Context, email string) (Profile, error)
	SetPersonalMessage(ctx context.Context, email, message string) error
	SetPicture(ctx context.Context, email, mimeType string, data []byte) (Picture, error)
	PictureByID(ctx context.Context, id string) (Picture, error)

	// Key-value data of the parts beside the service (each bot has its own
	// namespace), kept here so it lives and is backed up with the rest.
	// KVGet returns ErrNoKey for a missing key; KVDelete of a missing key
	// is not an error; KVList returns the keys with the prefix, sorted.
	KVGet(ctx context.Context, namespace, key string) ([]byte, error)
	KVSet(ctx context.Context, namespace, key string, value []byte) error
	KVDelete(ctx context.Context, namespace, key string) error
	KVList(ctx context.Context, namespace, prefix string) ([]string, error)

	// Account events (events.go): deletions and password changes, which
	// running servers act on whoever made them. AccountEvents returns the
	// events after seq, oldest first (at most a thousand at a time);
	// LastAccountEvent is the newest one's seq (0 when there is none):
	// where a watcher starts, and what a session knows of at sign-in.
	AccountEvents(ctx context.Context, after int64) ([]AccountEvent, error)
	LastAccountEvent(ctx context.Context) (int64, error)

	// Ping checks that the database answers (for health checks).
	Ping(ctx context.Context) error

	Close() error
}

// Key-value errors and limits.
var (
	ErrNoKey = errors.New("no such key")
	// ErrInvalidKey: a namespace or key that is empty, too long or not
	// UTF-8 (or a namespace with other than letters, digits, '-', '_', '.',
	// ':'), or a value over MaxKVValue bytes.
	ErrInvalidKey = errors.New("key-value namespace, key or value not valid")
	// ErrKVFull: the namespace already holds MaxKVKeys keys.
	ErrKVFull = errors.New("key-value namespace is full")
)

const (
	MaxKVNamespace = 64       // bytes
	MaxKVKey       = 256      // bytes
	MaxKVValue     = 64 << 10 // bytes
	MaxKVKeys      = 10000    // keys per namespace
)

// Profile is the roaming profile of an account (the storage service of
// Windows Live Messenger): its personal message and display picture, kept
// so that each place the user signs in from gets the same. The display
// name is the account's FriendlyName.
type Profile struct {
	Message        string    // the personal message; "" for none
	MessageChanged time.Time // zero when never set
	Picture        Picture   // ID "" when there is none
}

// Picture is a display picture kept in a profile.
type Picture struct {
	// ID is random and unguessable: it names the picture's public address,
	// which only those shown the address can find.
	ID string
	// Version counts the account's pictures, from 1: a client that has
	// seen a version need not fetch it again.
	Version int64
	Type    string // MIME type, such as "image/png"
	Size    int
	Changed time.Time
	Data    []byte // only from PictureByID
}

// Limits of the profile.
const (
	MaxPersonalMessage = 1024      // bytes
	MaxPicture         = 128 << 10 // bytes
	MaxPictureType     = 64        // bytes
)

// ErrInvalidProfile: a personal message or picture that is too long or not
// valid (a message with control characters or bad UTF-8; a picture type
// with spaces).
var ErrInvalidProfile = errors.New("profile value not valid")

// AddressBook is an account's contact list as the address book web service
// (ABCH) shows it. A delta (AddressBook with a non-zero since) holds only
// the entries and groups changed after since, and what was removed.
type AddressBook struct {
	Owner Account
	// Annotations are the owner's own (the address book's "Me" contact).
	Annotations map[string]string
	Entries     []Entry
	Groups      []GroupInfo
	Removed     []Removal
}

// Entry is one contact of an address book with what only the book shows.
type Entry struct {
	Contact
	// CID of the contact's account (0 when there is none).
	CID         int64
	Annotations map[string]string
	Changed     time.Time
}

// GroupInfo is a group of an address book and when it last changed.
type GroupInfo struct {
	Group
	Changed time.Time
}

// Removal is an entry (Email set) or a group (Email empty) that left an
// address book.
type Removal struct {
	GUID  string
	Email string
	Lists List // the lists the entry was on
	At    time.Time
}

// OfflineMessage is a message kept for someone who was offline.
type OfflineMessage struct {
	ID          string // a GUID (the OIM message id)
	To          string
	From        string
	FromName    string // the sender's friendly name when it was sent
	Sent        time.Time
	ContentType string // the MIME type of Body, e.g. "text/plain; charset=UTF-8"
	Body        []byte
}
