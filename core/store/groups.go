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
			`INSERT INTO contact_groups (owner, number, guid, name, changed) VALUES ($1, $2, $3, $4, $5)`,
			me.id, g.Number, g.GUID, g.Name, me.stamp); err != nil {
			return err
		}
		v, err = finish(ctx, t, me)
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
		if _, err := t.exec(ctx, `UPDATE contact_groups SET name = $1, changed = $2 WHERE owner = $3 AND guid = $4`,
			name, me.stamp, me.id, guid); err != nil {
			return err
		}
		g.Name = name
		v, err = finish(ctx, t, me)
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
		gid, err := groupID(ctx, t, me.id, guid)
		if err != nil {
			return err
		}
		// Its members change (they leave it); the memberships go by ON
		// DELETE CASCADE.
		if _, err := t.exec(ctx, `UPDATE contacts SET changed = $1 WHERE id IN (SELECT contact FROM group_members WHERE grp = $2)`,
			me.stamp, gid); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM contact_groups WHERE id = $1`, gid); err != nil {
			return err
		}
		if err := remember(ctx, t, me, lookup(guid), "", 0); err != nil {
			return err
		}
		v, err = finish(ctx, t, me)
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
		if err := touchEntry(ctx, t, me, e.id); err != nil {
			return err
		}
		v, err = finish(ctx, t, me)
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
