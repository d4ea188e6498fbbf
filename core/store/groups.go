package store

import (
	"context"
	"math"
)

// AddGroup creates a group with the smallest free number (1..) and a new
// GUID. Names are compared byte for byte.
func (s *sqlStore) AddGroup(ctx context.Context, owner, name string) (Group, int64, error) {
	if err := validName(name, MaxGroupName); err != nil {
		return Group{}, 0, err
	}
	var g Group
	var v int64
	err := s.write(ctx, func(t txn) error {
		me, err := lockAccount(ctx, t, lookup(owner))
		if err != nil {
			return err
		}
		gs, err := listGroups(ctx, t, me.id)
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
		if _, err := t.exec(ctx,
			`INSERT INTO contact_groups (owner, number, guid, name) VALUES ($1, $2, $3, $4)`,
			me.id, g.Number, g.GUID, g.Name); err != nil {
			return err
		}
		v, err = bump(ctx, t, me.id)
		return err
	})
	if err != nil {
		return Group{}, 0, err
	}
	return g, v, nil
}

// RenameGroup renames a group. Renaming it to the name it has changes
// nothing and returns the current version.
func (s *sqlStore) RenameGroup(ctx context.Context, owner, guid, name string) (Group, int64, error) {
	if err := validName(name, MaxGroupName); err != nil {
		return Group{}, 0, err
	}
	guid = lookup(guid)
	var g Group
	var v int64
	err := s.write(ctx, func(t txn) error {
		me, err := lockAccount(ctx, t, lookup(owner))
		if err != nil {
			return err
		}
		gs, err := listGroups(ctx, t, me.id)
		if err != nil {
			return err
		}
		found := false
		for _, o := range gs {
			if o.GUID == guid {
				g, found = o, true
			}
		}
		switch {
		case !found:
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
		if _, err := t.exec(ctx, `UPDATE contact_groups SET name = $1 WHERE owner = $2 AND guid = $3`,
			name, me.id, guid); err != nil {
			return err
		}
		g.Name = name
		v, err = bump(ctx, t, me.id)
		return err
	})
	if err != nil {
		return Group{}, 0, err
	}
	return g, v, nil
}

// RemoveGroup deletes a group; its members stay on FL.
func (s *sqlStore) RemoveGroup(ctx context.Context, owner, guid string) (int64, error) {
	var v int64
	err := s.write(ctx, func(t txn) error {
		me, err := lockAccount(ctx, t, lookup(owner))
		if err != nil {
			return err
		}
		// Memberships go by ON DELETE CASCADE.
		n, err := t.affected(ctx, `DELETE FROM contact_groups WHERE owner = $1 AND guid = $2`, me.id, lookup(guid))
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNoSuchGroup
		}
		v, err = bump(ctx, t, me.id)
		return err
	})
	return v, err
}

// GroupByNumber maps an MSNP7–9 group number to its group. Number 0, the
// implicit "Other Contacts", is not stored and returns ErrNoSuchGroup.
func (s *sqlStore) GroupByNumber(ctx context.Context, owner string, number int) (Group, error) {
	if number < 1 || number > math.MaxInt32 {
		return Group{}, ErrNoSuchGroup // out of the column's range: no such group either
	}
	g := Group{Number: number}
	err := s.reader().row(ctx, `
		SELECT g.guid, g.name FROM contact_groups g JOIN accounts a ON a.id = g.owner
		WHERE a.email = $1 AND g.number = $2`, lookup(owner), number).Scan(&g.GUID, &g.Name)
	if errNoRows(err) {
		return Group{}, ErrNoSuchGroup
	}
	if err != nil {
		return Group{}, wrap(err)
	}
	return g, nil
}

// AddToGroup puts a contact that is on owner's FL into one more group.
func (s *sqlStore) AddToGroup(ctx context.Context, owner, contact, guid string) (int64, error) {
	var v int64
	err := s.write(ctx, func(t txn) error {
		me, err := lockAccount(ctx, t, lookup(owner))
		if err != nil {
			return err
		}
		e, found, err := getEntry(ctx, t, me.id, lookup(contact))
		if err != nil {
			return err
		}
		if !found || e.lists&Forward == 0 {
			return ErrNotOnList
		}
		gid, err := groupID(ctx, t, me.id, guid)
		if err != nil {
			return err
		}
		if err := addMember(ctx, t, e.id, gid); err != nil {
			return err
		}
		v, err = bump(ctx, t, me.id)
		return err
	})
	return v, err
}

// listGroups returns owner's groups by number.
func listGroups(ctx context.Context, t txn, owner int64) ([]Group, error) {
	rows, err := t.query(ctx,
		`SELECT number, guid, name FROM contact_groups WHERE owner = $1 ORDER BY number`, owner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var gs []Group
	for rows.Next() {
		var g Group
		if err := rows.Scan(&g.Number, &g.GUID, &g.Name); err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	return gs, rows.Err()
}
