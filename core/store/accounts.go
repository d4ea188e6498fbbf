package store

import (
	"time"

	"golang.org/x/crypto/bcrypt"
)

// What both engines do before a transaction starts: check the input and
// do the slow hashing, so that no connection or lock is held while bcrypt
// runs.

// hashPassword hashes a password for Passport logins (bcrypt) and makes
// the salt and digest of MSNP2–7 MD5 logins.
func hashPassword(password string, cost int) ([]byte, MD5Secret, error) {
	if err := validPassword(password); err != nil {
		return nil, MD5Secret{}, err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return nil, MD5Secret{}, err
	}
	return h, newMD5Secret(password), nil
}

// FirstListVersion is a new account's list version. It is 1, not 0: a
// client that has never synchronised sends "SYN 0", and a list at version 0
// would be answered "up to date" with nothing in it (Pidgin then reports the
// buddy list unavailable); at 1 the first SYN always gets the whole list.
const FirstListVersion = 1

// newAccount checks what CreateAccount is given and returns the account to
// store with its password hash and MD5 secret. The friendly name defaults
// to the handle; privacy starts as AL and GTC as A, as on MSN. Created is
// kept to the millisecond, as both engines store it.
func newAccount(email, password, friendlyName string, cost int) (Account, []byte, MD5Secret, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return Account{}, nil, MD5Secret{}, err
	}
	if friendlyName == "" {
		friendlyName = email
	} else if err := validName(friendlyName, MaxFriendly); err != nil {
		return Account{}, nil, MD5Secret{}, err
	}
	hash, md5s, err := hashPassword(password, cost)
	if err != nil {
		return Account{}, nil, MD5Secret{}, wrap(err)
	}
	a := Account{
		Email:        email,
		FriendlyName: friendlyName,
		Privacy:      AllowByDefault,
		PromptOnAdd:  true,
		ListVersion:  FirstListVersion,
		Created:      time.UnixMilli(time.Now().UnixMilli()).UTC(),
	}
	return a, hash, md5s, nil
}

// newAccounts checks a batch for CreateAccounts and hashes its one shared
// password once, with cost (0: the store's, storeCost).
func newAccounts(emails []string, password string, cost, storeCost int) ([]string, []byte, MD5Secret, error) {
	if len(emails) > MaxBatch {
		return nil, nil, MD5Secret{}, ErrBatchTooLarge
	}
	if cost == 0 {
		cost = storeCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, nil, MD5Secret{}, ErrInvalidPassword
	}
	norm := make([]string, len(emails))
	for i, e := range emails {
		n, err := NormalizeEmail(e)
		if err != nil {
			return nil, nil, MD5Secret{}, err
		}
		norm[i] = n
	}
	hash, md5s, err := hashPassword(password, cost)
	if err != nil {
		return nil, nil, MD5Secret{}, err
	}
	return norm, hash, md5s, nil
}
