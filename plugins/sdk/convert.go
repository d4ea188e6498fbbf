package sdk

import botpb "github.com/nudge-im/nudge/plugins/proto"

var statusPB = map[Status]botpb.Status{
	Online:      botpb.Status_STATUS_ONLINE,
	Busy:        botpb.Status_STATUS_BUSY,
	Idle:        botpb.Status_STATUS_IDLE,
	BeRightBack: botpb.Status_STATUS_BE_RIGHT_BACK,
	Away:        botpb.Status_STATUS_AWAY,
	OnThePhone:  botpb.Status_STATUS_ON_THE_PHONE,
	OutToLunch:  botpb.Status_STATUS_OUT_TO_LUNCH,
	Hidden:      botpb.Status_STATUS_HIDDEN,
	Offline:     botpb.Status_STATUS_OFFLINE,
}

func statusToPB(s Status) botpb.Status { return statusPB[s] }

func statusFromPB(s botpb.Status) Status {
	for k, v := range statusPB {
		if v == s {
			return k
		}
	}
	return ""
}

func contactFromPB(c *botpb.Contact) Contact {
	if c == nil {
		return Contact{}
	}
	return Contact{
		Email:           c.GetEmail(),
		FriendlyName:    c.GetFriendlyName(),
		Status:          statusFromPB(c.GetStatus()),
		PersonalMessage: c.GetPersonalMessage(),
		Forward:         c.GetForward(),
		Allowed:         c.GetAllowed(),
		Blocked:         c.GetBlocked(),
		Reverse:         c.GetReverse(),
		Pending:         c.GetPending(),
	}
}

func contactsFromPB(cs []*botpb.Contact) []Contact {
	out := make([]Contact, 0, len(cs))
	for _, c := range cs {
		out = append(out, contactFromPB(c))
	}
	return out
}

func formatToPB(f *Format) *botpb.Format {
	if f == nil {
		return nil
	}
	return &botpb.Format{
		Font: f.Font, Bold: f.Bold, Italic: f.Italic, Underline: f.Underline, Strikethrough: f.Strikethrough,
		Color: f.Color & 0xFFFFFF, Charset: uint32(f.Charset), PitchFamily: uint32(f.PitchFamily), RightToLeft: f.RightToLeft,
	}
}

func formatFromPB(f *botpb.Format) *Format {
	if f == nil {
		return nil
	}
	return &Format{
		Font: f.GetFont(), Bold: f.GetBold(), Italic: f.GetItalic(), Underline: f.GetUnderline(),
		Strikethrough: f.GetStrikethrough(), Color: f.GetColor() & 0xFFFFFF, Charset: uint8(f.GetCharset()),
		PitchFamily: uint8(f.GetPitchFamily()), RightToLeft: f.GetRightToLeft(),
	}
}
