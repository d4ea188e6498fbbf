//go:build goolm

package matrix

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	mxbridge "maunium.net/go/mautrix/bridgev2/matrix"
	"maunium.net/go/mautrix/bridgev2/status"

	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
)

// Login flow IDs.
const (
	FlowHosted   = "hosted"
	FlowPassword = "password"
	FlowServer   = "server"
)

// GetLoginFlows lists the ways to log in: a hosted account (when the
// config allows it) and any MSN account with its password.
func (mc *Connector) GetLoginFlows() []bridgev2.LoginFlow {
	var flows []bridgev2.LoginFlow
	if mc.Config.Hosted.Enabled {
		flows = append(flows, bridgev2.LoginFlow{
			ID:          FlowHosted,
			Name:        "Hosted account",
			Description: "An MSN account on this Nudge server named after your Matrix ID, made for you: no password to choose.",
		})
	}
	flows = append(flows, bridgev2.LoginFlow{
		ID:          FlowPassword,
		Name:        "Password",
		Description: "Sign in to an existing MSN account on " + mc.Config.Server + " with its e-mail address and password.",
	})
	if mc.Config.AllowOtherServers {
		flows = append(flows, bridgev2.LoginFlow{
			ID:          FlowServer,
			Name:        "Another MSN server",
			Description: "Sign in to an MSN account on another MSN server, with its address and password.",
		})
	}
	return flows
}

// CreateLogin starts a login process.
func (mc *Connector) CreateLogin(ctx context.Context, user *bridgev2.User, flowID string) (bridgev2.LoginProcess, error) {
	switch flowID {
	case FlowHosted:
		if !mc.Config.Hosted.Enabled {
			return nil, errors.New("hosted logins are turned off in this bridge's config")
		}
		return &hostedLogin{mc: mc, user: user}, nil
	case FlowPassword:
		return &passwordLogin{mc: mc, user: user}, nil
	case FlowServer:
		if !mc.Config.AllowOtherServers {
			return nil, errors.New("this bridge only signs in to " + mc.Config.Server)
		}
		return &passwordLogin{mc: mc, user: user, otherServer: true}, nil
	}
	return nil, fmt.Errorf("unknown login flow %q", flowID)
}

// hostedLogin makes (or finds) the user's hosted account and signs in.
type hostedLogin struct {
	mc   *Connector
	user *bridgev2.User
}

var _ bridgev2.LoginProcess = (*hostedLogin)(nil)

func (l *hostedLogin) Start(ctx context.Context) (*bridgev2.LoginStep, error) {
	mc := l.mc
	if _, err := hostedDomain(l.user.MXID, mc.Config.Hosted.EmailDomain); err != nil {
		return nil, loginError(http.StatusBadRequest, "BAD_MATRIX_ID", "%v", err)
	}
	friendly := mc.matrixName(ctx, l.user)
	acct, err := mc.hostedAccount(ctx, l.user.MXID, friendly)
	if err != nil {
		return nil, loginError(http.StatusBadGateway, "ADMIN_API", "%s", msnbridge.OneLine(err))
	}
	if err := mc.checkLoginOwner(l.user, acct.Email); err != nil {
		return nil, err
	}
	meta := &UserLoginMetadata{Email: acct.Email, Password: acct.Password, Hosted: true}
	cl, err := mc.dial(ctx, meta)
	if err != nil && isAuthError(err) && mc.refusedHosted(ctx, l.user.MXID, meta) {
		cl, err = mc.dial(ctx, meta) // its server's admin had deleted it
	}
	if err != nil {
		if isAuthError(err) {
			return nil, loginError(http.StatusConflict, "ACCOUNT_REFUSED",
				"the MSN server refused the password of your hosted account %s (its admin may have changed it): ask the bridge's admin", acct.Email)
		}
		return nil, loginError(http.StatusBadGateway, "UNREACHABLE", "signing in to MSN as %s: %s", acct.Email, msnbridge.OneLine(err))
	}
	return mc.finishLogin(ctx, l.user, meta, cl)
}

func (l *hostedLogin) Cancel() {}

// passwordLogin signs in to any MSN account, on the configured server or,
// with otherServer, on one the user names.
type passwordLogin struct {
	mc          *Connector
	user        *bridgev2.User
	otherServer bool
}

var _ bridgev2.LoginProcessUserInput = (*passwordLogin)(nil)

func (l *passwordLogin) Start(ctx context.Context) (*bridgev2.LoginStep, error) {
	var fields []bridgev2.LoginInputDataField
	if l.otherServer {
		fields = append(fields, bridgev2.LoginInputDataField{
			Type: bridgev2.LoginInputFieldTypeDomain, ID: "server", Name: "MSN server",
			Description: "host or host:port of the server's dispatch server (port 1863 if left out)",
		})
	}
	fields = append(fields,
		bridgev2.LoginInputDataField{Type: bridgev2.LoginInputFieldTypeEmail, ID: "email", Name: "MSN address", Description: "The e-mail address you sign in to MSN with."},
		bridgev2.LoginInputDataField{Type: bridgev2.LoginInputFieldTypePassword, ID: "password", Name: "Password"},
	)
	if l.otherServer {
		fields = append(fields, bridgev2.LoginInputDataField{
			Type: bridgev2.LoginInputFieldTypeURL, ID: "passport", Name: "Passport URL", Optional: true,
			Description: "For MSNP8 and later: the base URL of the server's Passport (login2.srf) service; skip to ask the Passport nexus",
		})
	}
	return &bridgev2.LoginStep{
		Type:            bridgev2.LoginStepTypeUserInput,
		StepID:          "fi.nudge.msn.password",
		Instructions:    "Enter the address and password of your MSN account.",
		UserInputParams: &bridgev2.LoginUserInputParams{Fields: fields},
	}, nil
}

func (l *passwordLogin) SubmitUserInput(ctx context.Context, input map[string]string) (*bridgev2.LoginStep, error) {
	mc := l.mc
	email, ok := msnbridge.NormalizeHandle(input["email"])
	if !ok {
		return nil, loginError(http.StatusBadRequest, "BAD_ADDRESS", "%q is not an MSN address (name@example.com)", input["email"])
	}
	meta := &UserLoginMetadata{Email: email, Password: input["password"]}
	if server := strings.TrimSpace(input["server"]); l.otherServer && server != "" && server != mc.Config.Server {
		if _, _, err := net.SplitHostPort(server); err != nil {
			server = net.JoinHostPort(server, "1863")
		}
		meta.Server = server
		meta.PassportURL = strings.TrimSpace(input["passport"])
		if meta.PassportURL == "skip" {
			meta.PassportURL = ""
		}
		if meta.PassportURL == "" {
			meta.NexusURL = client.DefaultNexusURL
		}
	}
	if err := mc.checkLoginOwner(l.user, email); err != nil {
		return nil, err
	}
	cl, err := mc.dial(ctx, meta)
	if err != nil {
		if isAuthError(err) {
			return nil, loginError(http.StatusForbidden, "BAD_CREDENTIALS", "MSN refused the address or the password")
		}
		return nil, loginError(http.StatusBadGateway, "UNREACHABLE", "signing in to MSN as %s: %s", email, msnbridge.OneLine(err))
	}
	return mc.finishLogin(ctx, l.user, meta, cl)
}

func (l *passwordLogin) Cancel() {}

// loginError is a login failure the provisioning API answers with its own
// status and code, and the bot shows as the message alone.
func loginError(status int, code, format string, args ...any) error {
	return bridgev2.RespError{ErrCode: "FI.NUDGE.MSN_" + code, Err: fmt.Sprintf(format, args...), StatusCode: status}
}

// checkLoginOwner refuses an MSN account that another Matrix user has
// logged in with (signing in would end their session), and signs out the
// user's own earlier session of it, which is replaced.
func (mc *Connector) checkLoginOwner(user *bridgev2.User, email string) error {
	existing := mc.Bridge.GetCachedUserLoginByID(loginID(email))
	if existing == nil {
		return nil
	}
	if existing.UserMXID != user.MXID {
		return loginError(http.StatusConflict, "ALREADY_LOGGED_IN", "another Matrix user is logged in with %s", email)
	}
	if existing.Client != nil {
		existing.Client.Disconnect()
	}
	return nil
}

func (mc *Connector) dial(ctx context.Context, meta *UserLoginMetadata) (*client.Client, error) {
	cfg := mc.clientConfig(meta)
	logger := mc.Bridge.Log.With().Str("msn", meta.Email).Str("component", "msnp").Logger()
	cfg.Logger = &logger
	return client.Dial(ctx, cfg)
}

// finishLogin saves the login and hands it the signed-in client.
func (mc *Connector) finishLogin(ctx context.Context, user *bridgev2.User, meta *UserLoginMetadata, cl *client.Client) (*bridgev2.LoginStep, error) {
	self := cl.Self()
	ul, err := user.NewLogin(ctx, &database.UserLogin{
		ID:            loginID(meta.Email),
		RemoteName:    meta.Email,
		RemoteProfile: status.RemoteProfile{Email: meta.Email, Name: self.FriendlyName},
		Metadata:      meta,
	}, nil)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("saving the login: %w", err)
	}
	msn := ul.Client.(*MSNClient)
	msn.adopt(cl)
	go ul.Client.Connect(ul.Log.WithContext(context.Background()))
	what := "your MSN account"
	if meta.Hosted {
		what = "your hosted MSN account"
	}
	return &bridgev2.LoginStep{
		Type:         bridgev2.LoginStepTypeComplete,
		StepID:       "fi.nudge.msn.complete",
		Instructions: fmt.Sprintf("Signed in to %s, %s. MSN users can add you as a contact with that address.", what, meta.Email),
		CompleteParams: &bridgev2.LoginCompleteParams{
			UserLoginID: ul.ID,
			UserLogin:   ul,
		},
	}, nil
}

// matrixName is the user's Matrix display name, for a hosted account's
// friendly name; the localpart when there is none.
func (mc *Connector) matrixName(ctx context.Context, user *bridgev2.User) string {
	if m, ok := mc.Bridge.Matrix.(*mxbridge.Connector); ok {
		if p, err := m.Bot.GetProfile(ctx, user.MXID); err == nil && strings.TrimSpace(p.DisplayName) != "" {
			return strings.TrimSpace(p.DisplayName)
		}
	}
	local, _, _ := user.MXID.Parse()
	return local
}
