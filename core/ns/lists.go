package ns

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
)

// listNames maps the list codes of ADD/ADC/REM/LST to list bits.
var listNames = map[string]store.List{"FL": store.Forward, "AL": store.Allow, "BL": store.Block, "RL": store.Reverse}

// storeCodes maps store errors to the replies the protocol defines for
// them, in the order they are tried.
var storeCodes = []struct {
	err  error
	code msnp.ErrorCode
}{
	{store.ErrInvalidEmail, msnp.ErrInvalidParameter},
	{store.ErrAlreadyOnList, msnp.ErrAlreadyThere},
	{store.ErrAlreadyInGroup, msnp.ErrAlreadyThere},
	{store.ErrNotOnList, msnp.ErrNotOnList},
	{store.ErrOppositeList, msnp.ErrInOppositeList},
	{store.ErrListFull, msnp.ErrListFull},
	{store.ErrNoSuchGroup, msnp.ErrInvalidGroup},
	{store.ErrGroupExists, msnp.ErrGroupExists},
	{store.ErrTooManyGroups, msnp.ErrTooManyGroups},
	{store.ErrNotInGroup, msnp.ErrNotInGroup},
	{store.ErrSameValue, msnp.ErrAlreadyInMode},
	{store.ErrInvalidName, msnp.ErrNicknameChangeIllegal},
}

// storeCode maps a store error to the reply the protocol defines for it.
// An unknown account is 205 until MSNP10 and 208 from then on.
func (s *session) storeCode(err error) msnp.ErrorCode {
	if errors.Is(err, store.ErrNotFound) {
		if s.dialect.ContactGUIDs {
			return msnp.ErrInvalidPrincipal
		}
		return msnp.ErrNoSuchUser
	}
	for _, m := range storeCodes {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return msnp.ErrDatabase
}

func (s *session) storeFail(c *msnp.Command, err error) error {
	code := s.storeCode(err)
	switch {
	case code != msnp.ErrDatabase:
	case store.Unavailable(err):
		// The service says once that the database is gone.
		s.log.Debug().Err(err).Str("command", c.Name).Msg("store unavailable")
	default:
		s.log.Error().Err(err).Str("command", c.Name).Msg("store failed")
	}
	return s.fail(c, code)
}

// --- SYN and LST ---

// listTimestamp stands for the list's age in the MSNP10+ SYN, which always
// answers with the whole list.
const listTimestamp = "2000-01-01T00:00:00.0-00:00"

func (s *session) handleSYN(c *msnp.Command) error {
	if len(c.Params) < 1 {
		return s.fail(c, msnp.ErrSyntax)
	}
	ctx := s.srv.ctx()
	// A client syncs right after signing in: answer from the account and
	// list read then, unless something changed them since (every change
	// moves the list version, which is all this reads). That halves the
	// database work of a sign-in.
	var (
		acct     store.Account
		contacts []store.Contact
		groups   []store.Group
		current  bool
	)
	if snap := s.signInList; snap != nil {
		s.signInList = nil
		v, err := s.srv.cfg.Store.ListVersion(ctx, s.email)
		if err != nil {
			return s.storeFail(c, err)
		}
		if current = v == snap.account.ListVersion; current {
			acct, contacts, groups = snap.account, snap.contacts, snap.groups
		}
	}
	if !current {
		var err error
		if acct, err = s.srv.cfg.Store.Account(ctx, s.email); err != nil {
			return s.storeFail(c, err)
		}
		if contacts, groups, err = s.srv.cfg.Store.Contacts(ctx, s.email); err != nil {
			return s.storeFail(c, err)
		}
	}
	s.mu.Lock()
	s.listVersion = acct.ListVersion
	s.mu.Unlock()

	d := s.dialect
	ver := itoa(acct.ListVersion)
	gtc, blp := "N", string(acct.Privacy)
	if acct.PromptOnAdd {
		gtc = "A"
	}
	switch d.ListForm {
	case msnp.ListNumbered:
		if c.Params[0] == ver {
			s.replyBulk(c, ver)
			return nil
		}
		s.replyBulk(c, ver)
		s.replyBulk(&msnp.Command{Name: "GTC", TrID: c.TrID}, ver, gtc)
		s.replyBulk(&msnp.Command{Name: "BLP", TrID: c.TrID}, ver, blp)
		if d.Groups {
			s.sendNumberedGroups(c.TrID, ver, groups)
		}
		for _, l := range []string{"FL", "AL", "BL", "RL"} {
			s.sendNumberedList(c.TrID, l, ver, contacts, groups)
		}
	case msnp.ListCompact:
		if c.Params[0] == ver {
			s.replyBulk(c, ver)
			return nil
		}
		s.replyBulk(c, ver, strconv.Itoa(len(contacts)), strconv.Itoa(len(groups)+1))
		s.sendBulk(msnp.Notice("GTC", gtc))
		s.sendBulk(msnp.Notice("BLP", blp))
		s.sendBulk(msnp.Notice("LSG", "0", "Other%20Contacts", "0"))
		for _, g := range groups {
			s.sendBulk(msnp.Notice("LSG", strconv.Itoa(g.Number), msnp.EncodeParam(g.Name), "0"))
		}
		for _, ct := range contacts {
			params := []string{ct.Email, msnp.EncodeParam(ct.FriendlyName), strconv.Itoa(int(ct.Lists &^ store.Pending))}
			if ct.Lists&store.Forward != 0 {
				params = append(params, groupNumbers(ct.Groups, groups))
			}
			s.sendBulk(msnp.Notice("LST", params...))
		}
	case msnp.ListGUID:
		s.replyBulk(c, listTimestamp, listTimestamp, strconv.Itoa(len(contacts)), strconv.Itoa(len(groups)))
		s.sendBulk(msnp.Notice("GTC", gtc))
		s.sendBulk(msnp.Notice("BLP", blp))
		s.sendBulk(msnp.Notice("PRP", "MFN", msnp.EncodeParam(acct.FriendlyName)))
		for _, g := range groups {
			s.sendBulk(msnp.Notice("LSG", msnp.EncodeParam(g.Name), g.GUID))
		}
		for _, ct := range contacts {
			// F= in every line, C= (the contact's GUID) only for FL
			// contacts: "LST N=<handle> F=<name> [C=<guid>] <lists> …".
			name := ct.FriendlyName
			if name == "" {
				name = ct.Email
			}
			params := []string{"N=" + ct.Email, "F=" + msnp.EncodeParam(name)}
			onFL := ct.Lists&store.Forward != 0
			if onFL {
				params = append(params, "C="+ct.GUID)
			}
			params = append(params, strconv.Itoa(int(ct.Lists&^store.Pending)))
			if d.LSTNetworkID {
				params = append(params, "1")
			}
			if onFL && len(ct.Groups) > 0 {
				params = append(params, strings.Join(ct.Groups, ","))
			}
			s.sendBulk(msnp.Notice("LST", params...))
		}
	}
	return nil
}

// handleLST answers the MSNP2–7 request for one list.
func (s *session) handleLST(c *msnp.Command) error {
	if s.dialect.ListForm != msnp.ListNumbered {
		return s.fail(c, msnp.ErrCommandDisabled)
	}
	if _, ok := listNames[c.Param(0)]; !ok {
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	contacts, groups, err := s.srv.cfg.Store.Contacts(s.srv.ctx(), s.email)
	if err != nil {
		return s.storeFail(c, err)
	}
	s.mu.Lock()
	ver := itoa(s.listVersion)
	s.mu.Unlock()
	s.sendNumberedList(c.TrID, c.Param(0), ver, contacts, groups)
	return nil
}

func (s *session) sendNumberedGroups(trid uint32, ver string, groups []store.Group) {
	total := strconv.Itoa(len(groups) + 1)
	s.sendBulk(msnp.New("LSG", trid, ver, "1", total, "0", "Other%20Contacts", "0"))
	for i, g := range groups {
		s.sendBulk(msnp.New("LSG", trid, ver, strconv.Itoa(i+2), total, strconv.Itoa(g.Number), msnp.EncodeParam(g.Name), "0"))
	}
}

func (s *session) sendNumberedList(trid uint32, list, ver string, contacts []store.Contact, groups []store.Group) {
	bit := listNames[list]
	n := 0
	for i := range contacts {
		if contacts[i].Lists&bit != 0 {
			n++
		}
	}
	if n == 0 {
		s.sendBulk(msnp.New("LST", trid, list, ver, "0", "0"))
		return
	}
	total := strconv.Itoa(n)
	i := 0
	for _, ct := range contacts {
		if ct.Lists&bit == 0 {
			continue
		}
		i++
		params := []string{list, ver, strconv.Itoa(i), total, ct.Email, msnp.EncodeParam(ct.FriendlyName)}
		if bit == store.Forward && s.dialect.Groups {
			params = append(params, groupNumbers(ct.Groups, groups))
		}
		s.sendBulk(msnp.New("LST", trid, params...))
	}
}

// groupNumbers turns group GUIDs into the MSNP7–9 "1,4" form; no group is
// group 0.
func groupNumbers(guids []string, groups []store.Group) string {
	if len(guids) == 0 {
		return "0"
	}
	nums := make([]string, 0, len(guids))
	for _, guid := range guids {
		for _, g := range groups {
			if g.GUID == guid {
				nums = append(nums, strconv.Itoa(g.Number))
			}
		}
	}
	if len(nums) == 0 {
		return "0"
	}
	return strings.Join(nums, ",")
}

// --- ADD, ADC, REM ---

// handleADD is the MSNP2–9 list edit: ADD trid LIST handle friendly [group].
func (s *session) handleADD(c *msnp.Command) error {
	if s.dialect.ContactGUIDs {
		return s.fail(c, msnp.ErrCommandDisabled)
	}
	if len(c.Params) < 2 {
		return s.fail(c, msnp.ErrSyntax)
	}
	list, ok := listNames[c.Params[0]]
	if !ok {
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	if list == store.Reverse {
		s.log.Info().Msg("client tried to edit its RL; closing the connection")
		return errClose
	}
	handle := strings.ToLower(c.Params[1])
	if !validHandle(handle) {
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	friendly := msnp.DecodeParam(c.Param(2))
	if friendly == "" {
		friendly = handle
	}
	group, groupParam := "", ""
	if list == store.Forward && s.dialect.Groups {
		groupParam = c.Param(3)
		if groupParam == "" {
			groupParam = "0"
		}
		if groupParam != "0" {
			g, err := s.groupByNumber(groupParam)
			if err != nil {
				return s.storeFail(c, err)
			}
			group = g.GUID
		}
	}
	ch, was, err := s.addToList(handle, list, friendly, group)
	if err != nil {
		return s.storeFail(c, err)
	}
	params := []string{c.Params[0], itoa(ch.Version), handle, msnp.EncodeParam(friendly)}
	if groupParam != "" {
		params = append(params, groupParam)
	}
	s.reply(c, params...)
	s.afterAdd(&c.TrID, handle, list, ch, was)
	return nil
}

// handleADC is the MSNP10–12 list edit, by handle or by contact GUID.
func (s *session) handleADC(c *msnp.Command) error {
	if !s.dialect.ContactGUIDs {
		return s.fail(c, msnp.ErrCommandDisabled)
	}
	if len(c.Params) < 2 {
		return s.fail(c, msnp.ErrSyntax)
	}
	list, ok := listNames[c.Params[0]]
	if !ok {
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	if list == store.Reverse {
		s.log.Info().Msg("client tried to edit its RL; closing the connection")
		return errClose
	}
	var handle, friendly, group string
	for _, p := range c.Params[1:] {
		switch {
		case strings.HasPrefix(p, "N="):
			handle = strings.ToLower(p[2:])
		case strings.HasPrefix(p, "F="):
			friendly = msnp.DecodeParam(p[2:])
		case strings.HasPrefix(p, "C="):
			ct, err := s.srv.cfg.Store.ContactByGUID(s.srv.ctx(), s.email, p[2:])
			if err != nil {
				return s.fail(c, msnp.ErrInvalidPrincipal)
			}
			handle = ct.Email
		default:
			group = p
		}
	}
	if !validHandle(handle) {
		return s.fail(c, msnp.ErrInvalidPrincipal)
	}
	if group != "" && list != store.Forward {
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	if friendly == "" {
		friendly = handle
	}
	ch, was, err := s.addToList(handle, list, friendly, group)
	if err != nil {
		return s.storeFail(c, err)
	}
	switch {
	case group != "":
		s.reply(c, "FL", "C="+ch.Contact.GUID, group)
	case list == store.Forward:
		s.reply(c, "FL", "N="+handle, "F="+msnp.EncodeParam(friendly), "C="+ch.Contact.GUID)
	default:
		s.reply(c, c.Params[0], "N="+handle)
	}
	s.afterAdd(&c.TrID, handle, list, ch, was)
	return nil
}

// addToList changes the store and the session's copy of the list, and the
// user's other endpoints' (on any node). Only an FL add names the contact;
// AL and BL adds keep the name already stored.
// wasVisible is whether the contact could see the user before.
func (s *session) addToList(handle string, list store.List, friendly, group string) (ch store.Change, wasVisible bool, err error) {
	if list != store.Forward {
		friendly = ""
	}
	ch, err = s.srv.cfg.Store.AddToList(s.srv.ctx(), s.email, handle, list, friendly, group)
	if err != nil {
		return ch, false, err
	}
	s.mu.Lock()
	wasVisible = s.visibleToLocked(handle)
	s.listVersion = ch.Version
	s.roster.set(handle, ch.Contact.Lists)
	s.mu.Unlock()
	s.shareContact(handle, ch.Contact.Lists)
	return ch, wasVisible, nil
}

// afterAdd tells the other side and updates presence: a new FL contact
// learns it was added (RL) and, if online, shows up with an ILN answering
// trid (an NLN when trid is nil: ADL); an AL or BL change may show or hide
// the user to that contact.
func (s *session) afterAdd(trid *uint32, handle string, list store.List, ch store.Change, wasVisible bool) {
	dir := s.srv.cfg.Directory
	switch list {
	case store.Forward:
		peer := dir.Lookup(handle)
		if peer == nil {
			return
		}
		if ch.Reverse {
			s.mu.Lock()
			name := s.presence.FriendlyName
			s.mu.Unlock()
			peer.ReverseAdded(s.email, name, ch.ReverseVersion)
		}
		// Only a contact new to the FL is shown; putting one already
		// there into a group changes nothing the client sees.
		if !ch.Reverse {
			return
		}
		if p, ok := peer.PresenceFor(s.email); ok {
			s.showPresence(p, trid)
		}
	default:
		s.updateVisibility(handle, wasVisible)
	}
}

// handleREM takes a contact off a list, or out of a group.
func (s *session) handleREM(c *msnp.Command) error {
	if len(c.Params) < 2 {
		return s.fail(c, msnp.ErrSyntax)
	}
	list, ok := listNames[c.Params[0]]
	if !ok {
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	if list == store.Reverse {
		s.log.Info().Msg("client tried to edit its RL; closing the connection")
		return errClose
	}
	handle, group := strings.ToLower(c.Params[1]), ""
	groupParam := c.Param(2)
	if s.dialect.ContactGUIDs && list == store.Forward {
		ct, err := s.srv.cfg.Store.ContactByGUID(s.srv.ctx(), s.email, c.Params[1])
		if err != nil {
			return s.fail(c, msnp.ErrNotOnList)
		}
		handle, group = ct.Email, groupParam
	} else if groupParam != "" && list == store.Forward && s.dialect.Groups {
		if groupParam != "0" {
			g, err := s.groupByNumber(groupParam)
			if err != nil {
				return s.storeFail(c, err)
			}
			group = g.GUID
		}
	}
	// Group 0 (MSNP7–9) holds everyone without a group: removing from it
	// is taking the contact off the FL, so group stays "" then.
	ch, tell, err := s.removeFromList(handle, list, group)
	if err != nil {
		return s.storeFail(c, err)
	}
	params := []string{c.Params[0]}
	if s.dialect.ListVersions {
		params = append(params, itoa(ch.Version))
	}
	params = append(params, c.Params[1])
	if groupParam != "" && list == store.Forward {
		params = append(params, groupParam)
	}
	s.reply(c, params...)
	tell()
	return nil
}

// removeFromList takes handle off one of the user's lists (with a group,
// out of that group), and keeps the session's copy of the list — and the
// user's other endpoints' — in step. tell, run after the reply, tells whom
// it concerns: the contact taken off the FL, or a watcher whose view of
// the user an AL or BL change altered.
func (s *session) removeFromList(handle string, list store.List, group string) (ch store.Change, tell func(), err error) {
	ch, err = s.srv.cfg.Store.RemoveFromList(s.srv.ctx(), s.email, handle, list, group)
	if err != nil {
		return ch, nil, err
	}
	s.mu.Lock()
	wasVisible := s.visibleToLocked(handle)
	s.listVersion = ch.Version
	if list == store.Forward && group == "" {
		s.roster.setShown(handle, false)
	}
	s.roster.set(handle, ch.Contact.Lists)
	s.mu.Unlock()
	s.shareContact(handle, ch.Contact.Lists)
	return ch, func() {
		if list == store.Forward && ch.Reverse {
			if peer := s.srv.cfg.Directory.Lookup(handle); peer != nil {
				peer.ReverseRemoved(s.email, ch.ReverseVersion)
			}
		}
		if list != store.Forward {
			s.updateVisibility(handle, wasVisible)
		}
	}, nil
}

// --- groups ---

func (s *session) groupByNumber(param string) (store.Group, error) {
	n, err := strconv.Atoi(param)
	if err != nil || n < 0 {
		return store.Group{}, store.ErrNoSuchGroup
	}
	return s.srv.cfg.Store.GroupByNumber(s.srv.ctx(), s.email, n)
}

// groupRef resolves a group parameter: a number (MSNP7–9) or a GUID
// (MSNP10+). MSN 7.0 sometimes sends the group's name instead of its GUID,
// so a name is accepted too.
func (s *session) groupRef(param string) (store.Group, error) {
	if !s.dialect.GroupGUIDs {
		return s.groupByNumber(param)
	}
	_, groups, err := s.srv.cfg.Store.Contacts(s.srv.ctx(), s.email)
	if err != nil {
		return store.Group{}, err
	}
	name := msnp.DecodeParam(param)
	i := slices.IndexFunc(groups, func(g store.Group) bool { return g.GUID == param })
	if i < 0 {
		i = slices.IndexFunc(groups, func(g store.Group) bool { return g.Name == name })
	}
	if i < 0 {
		return store.Group{}, store.ErrNoSuchGroup
	}
	return groups[i], nil
}

func (s *session) groupsAllowed(c *msnp.Command) bool {
	if !s.dialect.Groups {
		s.fail(c, msnp.ErrCommandDisabled)
		return false
	}
	return true
}

func (s *session) handleADG(c *msnp.Command) error {
	if !s.groupsAllowed(c) {
		return nil
	}
	name := msnp.DecodeParam(c.Param(0))
	if name == "" {
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	if len(c.Param(0)) > store.MaxGroupName*3 || len(name) > store.MaxGroupName {
		return s.fail(c, msnp.ErrGroupNameTooLong)
	}
	g, ver, err := s.srv.cfg.Store.AddGroup(s.srv.ctx(), s.email, name)
	if err != nil {
		if errors.Is(err, store.ErrInvalidName) {
			return s.fail(c, msnp.ErrGroupNameTooLong)
		}
		return s.storeFail(c, err)
	}
	if s.dialect.GroupGUIDs {
		s.reply(c, msnp.EncodeParam(name), g.GUID)
	} else {
		s.reply(c, itoa(ver), msnp.EncodeParam(name), strconv.Itoa(g.Number), "0")
	}
	return nil
}

func (s *session) handleRMG(c *msnp.Command) error {
	if !s.groupsAllowed(c) {
		return nil
	}
	if !s.dialect.GroupGUIDs && c.Param(0) == "0" {
		return s.fail(c, msnp.ErrCannotRemoveGroupZero)
	}
	g, err := s.groupRef(c.Param(0))
	if err != nil {
		return s.storeFail(c, err)
	}
	ver, err := s.srv.cfg.Store.RemoveGroup(s.srv.ctx(), s.email, g.GUID)
	if err != nil {
		return s.storeFail(c, err)
	}
	if s.dialect.GroupGUIDs {
		s.reply(c, "1", g.GUID)
	} else {
		s.reply(c, itoa(ver), strconv.Itoa(g.Number))
	}
	return nil
}

func (s *session) handleREG(c *msnp.Command) error {
	if !s.groupsAllowed(c) {
		return nil
	}
	if len(c.Params) < 2 {
		return s.fail(c, msnp.ErrSyntax)
	}
	name := msnp.DecodeParam(c.Params[1])
	if len(name) > store.MaxGroupName {
		return s.fail(c, msnp.ErrGroupNameTooLong)
	}
	g, err := s.groupRef(c.Params[0])
	if err != nil {
		return s.storeFail(c, err)
	}
	g, ver, err := s.srv.cfg.Store.RenameGroup(s.srv.ctx(), s.email, g.GUID, name)
	if err != nil {
		return s.storeFail(c, err)
	}
	if s.dialect.GroupGUIDs {
		s.reply(c, "1", msnp.EncodeParam(name), g.GUID, "0")
	} else {
		s.reply(c, itoa(ver), strconv.Itoa(g.Number), msnp.EncodeParam(name), "0")
	}
	return nil
}

// --- names and settings ---

// handleREA renames the user (own handle) or the name stored for a contact
// (MSNP2–9).
func (s *session) handleREA(c *msnp.Command) error {
	if !s.dialect.REA {
		return s.fail(c, msnp.ErrCommandDisabled)
	}
	if len(c.Params) < 2 {
		return s.fail(c, msnp.ErrSyntax)
	}
	handle, name := strings.ToLower(c.Params[0]), msnp.DecodeParam(c.Params[1])
	var ver int64
	var err error
	if handle == s.email {
		ver, err = s.setFriendlyName(name)
	} else {
		ver, err = s.srv.cfg.Store.SetContactName(s.srv.ctx(), s.email, handle, name)
	}
	if err != nil {
		return s.storeFail(c, err)
	}
	s.reply(c, itoa(ver), handle, msnp.EncodeParam(name))
	return nil
}

// setFriendlyName stores the user's new name and shows it to the watchers.
func (s *session) setFriendlyName(name string) (int64, error) {
	ver, err := s.srv.cfg.Store.SetFriendlyName(s.srv.ctx(), s.email, name)
	if errors.Is(err, store.ErrSameValue) {
		s.mu.Lock()
		ver, err = s.listVersion, nil
		s.mu.Unlock()
	}
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.presence.FriendlyName = name
	s.listVersion = ver
	online := s.online
	s.mu.Unlock()
	s.shareWithEndpoints()
	if online {
		s.broadcast()
	}
	return ver, nil
}

// handlePRP sets a user property: MFN (the friendly name, MSNP10+) or a
// phone number, which is echoed.
func (s *session) handlePRP(c *msnp.Command) error {
	if !s.dialect.Phones {
		return s.fail(c, msnp.ErrCommandDisabled)
	}
	key := c.Param(0)
	value := c.Param(1)
	if key == "MFN" {
		if s.dialect.REA {
			return s.fail(c, msnp.ErrNotExpected)
		}
		name := msnp.DecodeParam(value)
		if name == "" {
			return s.fail(c, msnp.ErrInvalidParameter)
		}
		if _, err := s.setFriendlyName(name); err != nil {
			return s.storeFail(c, err)
		}
		s.reply(c, "MFN", msnp.EncodeParam(name))
		return nil
	}
	switch key {
	case "PHH", "PHW", "PHM", "MOB", "MBE", "WWE", "HSB":
	default:
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	params := []string{key}
	if s.dialect.ListVersions {
		s.mu.Lock()
		params = []string{itoa(s.listVersion), key}
		s.mu.Unlock()
	}
	if value != "" {
		params = append(params, value)
	}
	s.reply(c, params...)
	return nil
}

// handleSBP renames a contact by GUID (MSNP10+).
func (s *session) handleSBP(c *msnp.Command) error {
	if !s.dialect.ContactGUIDs {
		return s.fail(c, msnp.ErrCommandDisabled)
	}
	if len(c.Params) < 3 {
		return s.fail(c, msnp.ErrSyntax)
	}
	ct, err := s.srv.cfg.Store.ContactByGUID(s.srv.ctx(), s.email, c.Params[0])
	if err != nil {
		return s.fail(c, msnp.ErrNotOnList)
	}
	if c.Params[1] == "MFN" {
		if _, err := s.srv.cfg.Store.SetContactName(s.srv.ctx(), s.email, ct.Email, msnp.DecodeParam(c.Params[2])); err != nil {
			return s.storeFail(c, err)
		}
	}
	s.reply(c, c.Params...)
	return nil
}

// handleBLP sets the privacy mode and tells the watchers whose view of the
// user it changed.
//
// A BLP that repeats the mode already set is acknowledged like any other,
// as the MSN service did: libpurple clients send their privacy setting at
// every sign-on, right after the list said it, and msn-pecan signs out on
// any error but 913 and 208 (the 218 the Draft lists for "already in the
// mode" among them). No client needs the 218, so no version gets it.
func (s *session) handleBLP(c *msnp.Command) error {
	p := store.Privacy(c.Param(0))
	if p != store.AllowByDefault && p != store.BlockByDefault {
		s.log.Info().Str("value", c.Param(0)).Msg("invalid BLP; closing the connection")
		return errClose
	}
	before := s.watchersView()
	ver, err := s.srv.cfg.Store.SetPrivacy(s.srv.ctx(), s.email, p)
	if errors.Is(err, store.ErrSameValue) {
		s.replyVersioned(c, s.currentListVersion(), string(p))
		return nil
	}
	if err != nil {
		return s.storeFail(c, err)
	}
	s.mu.Lock()
	s.privacy = p
	s.listVersion = ver
	s.mu.Unlock()
	s.shareSettings()
	s.replyVersioned(c, ver, string(p))
	s.tellChangedViews(before)
	return nil
}

// handleGTC sets whether the client asks before accepting a new RL
// contact; a repeat of the current value is acknowledged, as for BLP.
func (s *session) handleGTC(c *msnp.Command) error {
	v := c.Param(0)
	if v != "A" && v != "N" {
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	ver, err := s.srv.cfg.Store.SetPromptOnAdd(s.srv.ctx(), s.email, v == "A")
	if errors.Is(err, store.ErrSameValue) {
		ver, err = s.currentListVersion(), nil
	}
	if err != nil {
		return s.storeFail(c, err)
	}
	s.mu.Lock()
	s.promptOnAdd = v == "A"
	s.listVersion = ver
	s.mu.Unlock()
	s.shareSettings()
	s.replyVersioned(c, ver, v)
	return nil
}

func (s *session) currentListVersion() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listVersion
}

// replyVersioned answers with the list version first where the dialect has
// list versions.
func (s *session) replyVersioned(c *msnp.Command, ver int64, params ...string) {
	if s.dialect.ListVersions {
		params = append([]string{itoa(ver)}, params...)
	}
	s.reply(c, params...)
}
