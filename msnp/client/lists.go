package client

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nudge-im/nudge/msnp"
)

// request sends a command built for the current session's dialect and
// waits for its reply. build may refuse with an error (ErrNotSupported).
func (cl *Client) request(ctx context.Context, build func(s *nsSession) (*msnp.Command, error)) (*nsSession, *msnp.Command, error) {
	ctx, cancel := cl.withTimeout(ctx)
	defer cancel()
	s, err := cl.session(ctx)
	if err != nil {
		return nil, nil, err
	}
	cmd, err := build(s)
	if err != nil {
		return s, nil, err
	}
	r, err := s.c.call(ctx, cmd, nil)
	return s, r, err
}

// listCommand builds the command that puts email on list.
func (s *nsSession) addCommand(list List, email string) *msnp.Command {
	name := list.String()
	if s.d.ContactGUIDs {
		if list == Forward {
			return msnp.New("ADC", 0, name, "N="+email, "F="+email)
		}
		return msnp.New("ADC", 0, name, "N="+email)
	}
	if list == Forward && s.d.Groups {
		return msnp.New("ADD", 0, name, email, email, "0")
	}
	return msnp.New("ADD", 0, name, email, email)
}

// remCommand builds the command that takes email off list.
func (s *nsSession) remCommand(list List, email string) (*msnp.Command, error) {
	if s.d.ContactGUIDs && list == Forward {
		ct, ok := s.cl.Contact(email)
		if !ok || ct.GUID == "" {
			return nil, fmt.Errorf("client: %s is not on your contact list: %w", email, ErrUnknownContact)
		}
		return msnp.New("REM", 0, "FL", ct.GUID), nil
	}
	return msnp.New("REM", 0, list.String(), email), nil
}

// addTo and removeFrom edit a list before MSNP13 (from MSNP13 the address
// book is edited first: book.go).
func (cl *Client) addTo(ctx context.Context, list List, email string) error {
	_, _, err := cl.request(ctx, func(s *nsSession) (*msnp.Command, error) {
		return s.addCommand(list, email), nil
	})
	if errors.Is(err, msnp.ErrAlreadyThere) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("client: adding %s to %s: %w", email, list, err)
	}
	return nil
}

func (cl *Client) removeFrom(ctx context.Context, list List, email string) error {
	_, _, err := cl.request(ctx, func(s *nsSession) (*msnp.Command, error) {
		return s.remCommand(list, email)
	})
	if errors.Is(err, msnp.ErrNotOnList) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("client: removing %s from %s: %w", email, list, err)
	}
	return nil
}

func (cl *Client) lists(email string) List {
	ct, _ := cl.Contact(email)
	return ct.Lists
}

// AddContact puts email on your contact list and, unless you block them,
// allows them to see your presence and talk to you. The server refuses an
// unknown account (msnp.ErrNoSuchUser or msnp.ErrInvalidPrincipal).
func (cl *Client) AddContact(ctx context.Context, email string) error {
	if done, err := cl.inBook(ctx, func(ctx context.Context, s *nsSession) error {
		return s.bookAddContact(ctx, email)
	}); done {
		return wrapEdit(err, "adding %s", email)
	}
	if !cl.lists(email).Has(Forward) {
		if err := cl.addTo(ctx, Forward, email); err != nil {
			return err
		}
	}
	if l := cl.lists(email); !l.Has(Allow) && !l.Has(Block) {
		return cl.addTo(ctx, Allow, email)
	}
	return nil
}

// RemoveContact takes email off your contact list. It does not block them.
func (cl *Client) RemoveContact(ctx context.Context, email string) error {
	if done, err := cl.inBook(ctx, func(ctx context.Context, s *nsSession) error {
		return s.bookRemoveContact(ctx, email)
	}); done {
		return wrapEdit(err, "removing %s", email)
	}
	return cl.removeFrom(ctx, Forward, email)
}

// Block stops email from seeing your presence and talking to you.
func (cl *Client) Block(ctx context.Context, email string) error {
	if done, err := cl.inBook(ctx, func(ctx context.Context, s *nsSession) error {
		return s.bookMove(ctx, Block, email)
	}); done {
		return wrapEdit(err, "blocking %s", email)
	}
	if cl.lists(email).Has(Allow) {
		if err := cl.removeFrom(ctx, Allow, email); err != nil {
			return err
		}
	}
	if cl.lists(email).Has(Block) {
		return nil
	}
	return cl.addTo(ctx, Block, email)
}

// Allow undoes Block: email may see your presence and talk to you.
func (cl *Client) Allow(ctx context.Context, email string) error {
	if done, err := cl.inBook(ctx, func(ctx context.Context, s *nsSession) error {
		return s.bookMove(ctx, Allow, email)
	}); done {
		return wrapEdit(err, "allowing %s", email)
	}
	if cl.lists(email).Has(Block) {
		if err := cl.removeFrom(ctx, Block, email); err != nil {
			return err
		}
	}
	if cl.lists(email).Has(Allow) {
		return nil
	}
	return cl.addTo(ctx, Allow, email)
}

// SetStatus changes your status. Offline is not a status one can set; use
// Hidden to appear offline.
func (cl *Client) SetStatus(ctx context.Context, st Status) error {
	if !st.Valid() || st == Offline {
		return fmt.Errorf("client: cannot set status %q", string(st))
	}
	_, _, err := cl.request(ctx, func(s *nsSession) (*msnp.Command, error) { return s.chg(st), nil })
	if err != nil {
		return fmt.Errorf("client: setting status %s: %w", st, err)
	}
	return nil
}

// SetFriendlyName changes the name others see.
func (cl *Client) SetFriendlyName(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("client: empty friendly name")
	}
	enc := msnp.EncodeParam(name)
	_, _, err := cl.request(ctx, func(s *nsSession) (*msnp.Command, error) {
		if s.d.REA {
			return msnp.New("REA", 0, s.cl.Self().Email, enc), nil
		}
		return msnp.New("PRP", 0, "MFN", enc), nil
	})
	if err != nil {
		return fmt.Errorf("client: setting the friendly name: %w", err)
	}
	cl.mu.Lock()
	cl.self.FriendlyName = name
	cl.mu.Unlock()
	return nil
}

// SetPersonalMessage sets the line shown under your name (MSNP11+).
func (cl *Client) SetPersonalMessage(ctx context.Context, text string) error {
	_, _, err := cl.request(ctx, func(s *nsSession) (*msnp.Command, error) {
		if !s.d.PersonalMsg {
			return nil, fmt.Errorf("client: personal messages need MSNP11, signed in with %s: %w", s.d.Version, ErrNotSupported)
		}
		return msnp.New("UUX", 0).WithPayload(psmPayload(text)), nil
	})
	if err != nil {
		return fmt.Errorf("client: setting the personal message: %w", err)
	}
	cl.mu.Lock()
	cl.self.PersonalMessage = text
	cl.mu.Unlock()
	return nil
}

// wrapEdit says which edit of the address book failed.
func wrapEdit(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("client: "+format+": %w", append(args, err)...)
}

func needGroups(s *nsSession) error {
	if !s.d.Groups {
		return fmt.Errorf("client: groups need MSNP7, signed in with %s: %w", s.d.Version, ErrNotSupported)
	}
	return nil
}

// AddGroup creates a contact group (MSNP7+). From MSNP13 it is made in the
// address book, and its ID is the GUID the address book gave it.
func (cl *Client) AddGroup(ctx context.Context, name string) (Group, error) {
	var g Group
	if done, err := cl.inBook(ctx, func(ctx context.Context, s *nsSession) (err error) {
		g, err = s.bookAddGroup(ctx, name)
		return err
	}); done {
		return g, wrapEdit(err, "adding group %q", name)
	}
	enc := msnp.EncodeParam(name)
	s, r, err := cl.request(ctx, func(s *nsSession) (*msnp.Command, error) {
		if err := needGroups(s); err != nil {
			return nil, err
		}
		if s.d.GroupGUIDs {
			return msnp.New("ADG", 0, enc), nil
		}
		return msnp.New("ADG", 0, enc, "0"), nil
	})
	if err != nil {
		return Group{}, fmt.Errorf("client: adding group %q: %w", name, err)
	}
	// ADG trid ver name id 0 (MSNP7–9); ADG trid name guid [0] (MSNP10+)
	id := r.Param(2)
	if s.d.GroupGUIDs {
		id = r.Param(1)
	}
	if id == "" {
		return Group{}, fmt.Errorf("client: adding group %q: reply %q: %w", name, r.String(), ErrProtocol)
	}
	cl.mu.Lock()
	cl.list.addGroup(id, name)
	cl.mu.Unlock()
	return Group{ID: id, Name: name}, nil
}

// RenameGroup renames a contact group.
func (cl *Client) RenameGroup(ctx context.Context, id, name string) error {
	if done, err := cl.inBook(ctx, func(ctx context.Context, s *nsSession) error {
		return s.bookRenameGroup(ctx, id, name)
	}); done {
		if err == nil {
			cl.renameGroup(id, name)
		}
		return wrapEdit(err, "renaming group %s", id)
	}
	enc := msnp.EncodeParam(name)
	_, _, err := cl.request(ctx, func(s *nsSession) (*msnp.Command, error) {
		if err := needGroups(s); err != nil {
			return nil, err
		}
		if s.d.GroupGUIDs {
			return msnp.New("REG", 0, id, enc), nil
		}
		return msnp.New("REG", 0, id, enc, "0"), nil
	})
	if err != nil {
		return fmt.Errorf("client: renaming group %s: %w", id, err)
	}
	cl.renameGroup(id, name)
	return nil
}

func (cl *Client) renameGroup(id, name string) {
	cl.mu.Lock()
	if g := cl.list.groups[id]; g != nil {
		g.Name = name
	}
	cl.mu.Unlock()
}

// RemoveGroup deletes a contact group; its contacts stay on the list.
func (cl *Client) RemoveGroup(ctx context.Context, id string) error {
	if done, err := cl.inBook(ctx, func(ctx context.Context, s *nsSession) error {
		return s.bookRemoveGroup(ctx, id)
	}); done {
		if err == nil {
			cl.mu.Lock()
			cl.list.removeGroup(id)
			cl.mu.Unlock()
		}
		return wrapEdit(err, "removing group %s", id)
	}
	_, _, err := cl.request(ctx, func(s *nsSession) (*msnp.Command, error) {
		if err := needGroups(s); err != nil {
			return nil, err
		}
		return msnp.New("RMG", 0, id), nil
	})
	if err != nil {
		return fmt.Errorf("client: removing group %s: %w", id, err)
	}
	cl.mu.Lock()
	cl.list.removeGroup(id)
	cl.mu.Unlock()
	return nil
}

// AddToGroup puts a contact of your list into a group.
func (cl *Client) AddToGroup(ctx context.Context, email, groupID string) error {
	if done, err := cl.inBook(ctx, func(ctx context.Context, s *nsSession) error {
		return s.bookGroupContact(ctx, email, groupID, true)
	}); done {
		if err == nil {
			cl.groupContact(email, groupID, true)
		}
		return wrapEdit(err, "adding %s to group %s", email, groupID)
	}
	_, _, err := cl.request(ctx, func(s *nsSession) (*msnp.Command, error) {
		if err := needGroups(s); err != nil {
			return nil, err
		}
		ct, ok := cl.Contact(email)
		if !ok || !ct.Lists.Has(Forward) {
			return nil, fmt.Errorf("client: %s is not on your contact list: %w", email, ErrUnknownContact)
		}
		if s.d.ContactGUIDs {
			return msnp.New("ADC", 0, "FL", "C="+ct.GUID, groupID), nil
		}
		name := ct.FriendlyName
		if name == "" {
			name = email
		}
		return msnp.New("ADD", 0, "FL", email, msnp.EncodeParam(name), groupID), nil
	})
	if err != nil {
		return fmt.Errorf("client: adding %s to group %s: %w", email, groupID, err)
	}
	return nil
}

// RemoveFromGroup takes a contact out of a group; it stays on the list.
func (cl *Client) RemoveFromGroup(ctx context.Context, email, groupID string) error {
	if done, err := cl.inBook(ctx, func(ctx context.Context, s *nsSession) error {
		return s.bookGroupContact(ctx, email, groupID, false)
	}); done {
		if err == nil {
			cl.groupContact(email, groupID, false)
		}
		return wrapEdit(err, "removing %s from group %s", email, groupID)
	}
	_, _, err := cl.request(ctx, func(s *nsSession) (*msnp.Command, error) {
		if err := needGroups(s); err != nil {
			return nil, err
		}
		ct, ok := cl.Contact(email)
		if !ok || !ct.Lists.Has(Forward) {
			return nil, fmt.Errorf("client: %s is not on your contact list: %w", email, ErrUnknownContact)
		}
		if s.d.ContactGUIDs {
			return msnp.New("REM", 0, "FL", ct.GUID, groupID), nil
		}
		return msnp.New("REM", 0, "FL", email, groupID), nil
	})
	if err != nil {
		return fmt.Errorf("client: removing %s from group %s: %w", email, groupID, err)
	}
	return nil
}

// groupContact records that a contact of the FL went into a group, or out
// of it.
func (cl *Client) groupContact(email, group string, in bool) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	ct := cl.list.contacts[key(email)]
	if ct == nil {
		return
	}
	ct.Groups = slices.DeleteFunc(ct.Groups, func(g string) bool { return g == group })
	if in {
		ct.Groups = append(ct.Groups, group)
	}
}
