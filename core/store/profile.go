package store

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// The roaming profile: one row per account that ever set a personal
// message or a picture, gone with the account (ON DELETE CASCADE). The
// display name is the account's own friendly name and is not kept here.

// Profile returns the account's profile; a zero one when it never set
// anything. The picture comes without its bytes (PictureByID has them).
func (s *sqlStore) Profile(ctx context.Context, email string) (Profile, error) {
	var (
		p                      Profile
		msgChanged, picChanged int64
		found                  bool
	)
	err := s.read(ctx, func(t txn) error {
		var id int64
		if err := t.row(ctx, `SELECT id FROM accounts WHERE email = $1`, lookup(email)).Scan(&id); err != nil {
			if errNoRows(err) {
				return ErrNotFound
			}
			return err
		}
		err := t.row(ctx, `
			SELECT message, message_changed, picture_id, picture_version, picture_type,
				COALESCE(length(picture), 0), picture_changed
			FROM profiles WHERE account = $1`, id).Scan(
			&p.Message, &msgChanged, &p.Picture.ID, &p.Picture.Version, &p.Picture.Type, &p.Picture.Size, &picChanged)
		if errNoRows(err) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil || !found {
		return Profile{}, err
	}
	p.MessageChanged = fromMillis(msgChanged)
	p.Picture.Changed = fromMillis(picChanged)
	if p.Picture.ID == "" {
		p.Picture = Picture{Version: p.Picture.Version}
	}
	return p, nil
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// SetPersonalMessage stores the account's personal message.
func (s *sqlStore) SetPersonalMessage(ctx context.Context, email, message string) error {
	if len(message) > MaxPersonalMessage || !utf8.ValidString(message) || strings.ContainsFunc(message, isControl) {
		return ErrInvalidProfile
	}
	return s.write(ctx, func(t txn) error {
		a, err := lockAccount(ctx, t, lookup(email))
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, `
			INSERT INTO profiles (account, message, message_changed) VALUES ($1, $2, $3)
			ON CONFLICT (account) DO UPDATE SET message = $2, message_changed = $3`,
			a.id, message, time.Now().UnixMilli())
		return err
	})
}

// isControl is a character no personal message holds (tabs and line
// breaks included: clients show one line).
func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// SetPicture stores the account's display picture under a new ID and the
// next version; nil data removes it (the version is kept, so a later
// picture is newer than any before).
func (s *sqlStore) SetPicture(ctx context.Context, email, mimeType string, data []byte) (Picture, error) {
	if len(data) > MaxPicture || len(mimeType) > MaxPictureType ||
		(data != nil && (mimeType == "" || strings.ContainsFunc(mimeType, func(r rune) bool { return r <= ' ' || r >= 0x7f }))) {
		return Picture{}, ErrInvalidProfile
	}
	var pic Picture
	err := s.write(ctx, func(t txn) error {
		a, err := lockAccount(ctx, t, lookup(email))
		if err != nil {
			return err
		}
		now := time.Now().UnixMilli()
		if data == nil {
			_, err := t.exec(ctx, `
				UPDATE profiles SET picture_id = '', picture_type = '', picture = NULL, picture_changed = $2
				WHERE account = $1`, a.id, now)
			pic = Picture{}
			return err
		}
		pic = Picture{ID: newGUID(), Type: mimeType, Size: len(data), Changed: time.UnixMilli(now).UTC()}
		return t.row(ctx, `
			INSERT INTO profiles (account, picture_id, picture_version, picture_type, picture, picture_changed)
			VALUES ($1, $2, 1, $3, $4, $5)
			ON CONFLICT (account) DO UPDATE SET picture_id = $2, picture_version = profiles.picture_version + 1,
				picture_type = $3, picture = $4, picture_changed = $5
			RETURNING picture_version`, a.id, pic.ID, mimeType, data, now).Scan(&pic.Version)
	})
	if err != nil {
		return Picture{}, err
	}
	return pic, nil
}

// PictureByID returns the picture with this ID, bytes and all.
func (s *sqlStore) PictureByID(ctx context.Context, id string) (Picture, error) {
	id = lookup(id)
	if id == "" {
		return Picture{}, ErrNotFound
	}
	var (
		p       = Picture{ID: id}
		changed int64
	)
	err := s.reader().row(ctx, `
		SELECT picture_version, picture_type, picture, picture_changed FROM profiles WHERE picture_id = $1`, id).Scan(
		&p.Version, &p.Type, &p.Data, &changed)
	if errNoRows(err) {
		return Picture{}, ErrNotFound
	}
	if err != nil {
		return Picture{}, wrap(err)
	}
	p.Size = len(p.Data)
	p.Changed = fromMillis(changed)
	return p, nil
}
