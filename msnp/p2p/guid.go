package p2p

// EUF-GUIDs: the application an INVITE opens a session for.
const (
	EUFObject       = "{A4268EEC-FEC5-49E5-95C3-F126696BDBF6}" // MSNObject: picture, emoticon, wink, voice clip
	EUFFile         = "{5D3E02AB-6190-11D3-BBBB-00C04F795683}" // file transfer
	EUFWebcam       = "{4BD96FC0-AB17-4425-A14A-439185962DC8}"
	EUFWebcamAsk    = "{1C9AA97E-9C05-4583-A3BD-908A196F1E92}"
	EUFPhotoSharing = "{41D3E74E-04A2-4B37-96F8-08ACDB610874}"
	EUFActivity     = "{6A13AF9C-5308-4F35-923A-67E8DDA40C2F}" // activities and games
	EUFSharedFolder = "{534142D5-1F2A-431F-A60C-B0CF723FDF7D}"
)

// AppIDs, the footer of data packets and the AppID of an INVITE.
const (
	AppIDNone           = 0  // SLP and acknowledgements
	AppIDObject         = 1  // MSNObjects (display pictures before WLM 8.1, voice clips)
	AppIDFile           = 2  // file transfer
	AppIDWebcam         = 4  //
	AppIDEmoticon       = 11 // custom emoticons, winks
	AppIDDisplayPicture = 12 // display pictures from WLM 8.1 on
)
