package client

import "github.com/nudge-im/nudge/msnp/p2p"

// FileOffer says a contact offers a file. Accept or Decline its Transfer;
// an offer left unanswered is declined after Config.OfferTimeout.
type FileOffer struct {
	Conversation *Conversation
	From         string
	Transfer     *Transfer
}

// TransferProgress reports how far a transfer got. It comes at most four
// times a second per transfer; Transfer.Progress is always current.
type TransferProgress struct {
	Transfer    *Transfer
	Done, Total int64
}

// TransferEnded says a transfer ended: Err nil when the file moved whole
// (see Transfer.Err).
type TransferEnded struct {
	Transfer *Transfer
	Err      error
}

// DisplayPictureChanged says a contact set, changed or removed (Object
// nil) their display picture. Client.FetchObject gets the picture.
type DisplayPictureChanged struct {
	Email  string
	Object *p2p.Object
}

// Emoticons says From will use custom emoticons in the messages that
// follow: each shortcut in their text stands for the picture of its
// Object, which Client.FetchObject gets.
type Emoticons struct {
	Conversation *Conversation
	From         string
	Emoticons    []p2p.Emoticon
}

// Wink is a wink (an animation, a CAB archive holding Flash) a contact
// sent; Client.FetchObject gets its file.
type Wink struct {
	Conversation *Conversation
	From         string
	Object       *p2p.Object
}

// VoiceClip is a voice clip (a WAV file, often Siren-coded) a contact
// sent; Client.FetchObject gets its file.
type VoiceClip struct {
	Conversation *Conversation
	From         string
	Object       *p2p.Object
}

func (*FileOffer) isEvent()             {}
func (*TransferProgress) isEvent()      {}
func (*TransferEnded) isEvent()         {}
func (*DisplayPictureChanged) isEvent() {}
func (*Emoticons) isEvent()             {}
func (*Wink) isEvent()                  {}
func (*VoiceClip) isEvent()             {}
