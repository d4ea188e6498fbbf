package store

import (
	"context"
	"database/sql"
	"errors"
)

// AddGroup creates a group with the smallest free number (1..) and a new
// GUID. Names are compared byte for byte.
func (s *SQLite) AddGroup(ctx context.Context, owner, name string) (Group, int64, error) {
	if err := validName(name, MaxGroupName); err != nil {
		return Group{}, 0, err
	}
	var g Group
	var v int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		me, err := accountRef(ctx, tx, lower(owner))
		if err != nil {
			return err
		}
		gs, _, err := listGroups(ctx, tx, me.id)
		if err != nil {
			return err
		}
		if len(gs) >= MaxGroups {
			return ErrTooManyGroups
		}
		// gs is sorted by number, so the first gap is the smallest free one.
		g = Group{Number: 1, GUID: newGUID(), Name: name}
		for _, o := range gs {
			if o.Name == name {
				return ErrGroupExists
			}
			if o.Number == g.Number {
				g.Number++
			}
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO contact_groups (owner, number, guid, name) VALUES (?, ?, ?, ?)`,
			me.id, g.Number, g.GUID, g.Name); err != nil {
			return err
		}
		v, err = bump(ctx, tx, me.id)
		return err
	})
	if err != nil {
		return Group{}, 0, err
	}
	return g, v, nil
}

// RenameGroup renames a group. Renaming it to the name it has changes
// nothing and returns the current version.
func (s *SQLite) RenameGroup(ctx context.Context, owner, guid, name string) (Group, int64, error) {
	if err := validName(name, MaxGroupName); err != nil {
		return Group{}, 0, err
	}
	guid = lower(guid)
	var g Group
	var v int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		me, err := accountRef(ctx, tx, lower(owner))
		if err != nil {
			return err
		}
		gs, ids, err := listGroups(ctx, tx, me.id)
		if err != nil {
			return err
		}
		var id int64
		for i, o := range gs {
			if o.GUID == guid {
				g, id = o, ids[i]
			}
		}
		switch {
		case id == 0:
			return ErrNoSuchGroup
		case g.Name == name:
			v = me.version
			return nil
		}
		for _, o := range gs {
			if o.Name == name {
				return ErrGroupExists
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contact_groups SET name = ? WHERE id = ?`, name, id); err != nil {
			return err
		}
		g.Name = name
		v, err = bump(ctx, tx, me.id)
		return err
	})
	if err != nil {
		return Group{}, 0, err
	}
	return g, v, nil
}

// RemoveGroup deletes a group; its members stay on FL.
func (s *SQLite) RemoveGroup(ctx context.Context, owner, guid string) (int64, error) {
	var v int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		me, err := accountRef(ctx, tx, lower(owner))
		if err != nil {
			return err
		}
		// Memberships go by ON DELETE CASCADE.
		res, err := tx.ExecContext(ctx, `DELETE FROM contact_groups WHERE owner = ? AND guid = ?`, me.id, lower(guid))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNoSuchGroup
		}
		v, err = bump(ctx, tx, me.id)
		return err
	})
	return v, err
}

// GroupByNumber maps an MSNP7–9 group number to its group. Number 0, the
// implicit "Other Contacts", is not stored and returns ErrNoSuchGroup.
func (s *SQLite) GroupByNumber(ctx context.Context, owner string, number int) (Group, error) {
	g := Group{Number: number}
	err := s.r.QueryRowContext(ctx, `
		SELECT g.guid, g.name FROM contact_groups g JOIN accounts a ON a.id = g.owner
		WHERE a.email = ? AND g.number = ?`, lower(owner), number).Scan(&g.GUID, &g.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return Group{}, ErrNoSuchGroup
	}
	if err != nil {
		return Group{}, wrap(err)
	}
	return g, nil
}

// AddToGroup puts a contact that is on owner's FL into one more group.
func (s *SQLite) AddToGroup(ctx context.Context, owner, contact, guid string) (int64, error) {
	var v int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		me, err := accountRef(ctx, tx, lower(owner))
		if err != nil {
			return err
		}
		e, found, err := getEntry(ctx, tx, me.id, lower(contact))
		if err != nil {
			return err
		}
		if !found || e.lists&Forward == 0 {
			return ErrNotOnList
		}
		gid, err := groupID(ctx, tx, me.id, guid)
		if err != nil {
			return err
		}
		if err := addMember(ctx, tx, e.id, gid); err != nil {
			return err
		}
		v, err = bump(ctx, tx, me.id)
		return err
	})
	return v, err
}
