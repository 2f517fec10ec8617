package presave

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/oauth2"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/fans"
	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/internal/vault"
	"github.com/dropday/dropday/models"
)

// StateTTL is how long a fan has to finish the platform's consent screen.
const StateTTL = 10 * time.Minute

// ConsentVersion names the consent text shown next to the pre-save button;
// EmailConsentVersion the "also email me when it drops" checkbox's text.
// SaveConsentVersion names the smart link's sentence under its Save buttons
// (after the release the same consent saves at once).
const (
	ConsentVersion      = "presave-v1"
	EmailConsentVersion = "presave-email-v1"
	SaveConsentVersion  = "save-v1"
)

// ConsentText is the sentence under the pre-save buttons and EmailConsentText
// the checkbox's label: every consent record points at the stored copy of
// the words the fan saw (consent_texts), so changing them makes a new version.
const (
	ConsentText      = "Pre-saving lets dropday add this one release to your library on release day. Nothing else, and you can undo it any time."
	EmailConsentText = "Also email me when it drops"
	SaveConsentText  = "Save lets dropday add this one release to your library right away. Nothing else."
)

// consentText is the wording a consent version names.
func consentText(version string) string {
	if version == SaveConsentVersion {
		return SaveConsentText
	}
	return ConsentText
}

// shownVersion is the consent version of the wording the fan saw: the one the
// page's form names when it is one of the button sentences, else the one the
// page shows now (the countdown's before the release, Save's after it).
func shownVersion(shown string, l *models.Link, now time.Time) string {
	if shown == ConsentVersion || shown == SaveConsentVersion {
		return shown
	}
	if released(l, now) {
		return SaveConsentVersion
	}
	return ConsentVersion
}

// Errors the handlers turn into pages for fans.
var (
	// ErrBadState: missing, wrong, replayed or expired state (400).
	ErrBadState = errors.New("presave: the sign-in attempt is not valid any more")
	// ErrDenied: the fan pressed cancel on the platform's consent screen.
	ErrDenied = errors.New("presave: consent refused")
	// ErrUnavailable: the platform is not configured, or the link takes no pre-saves.
	ErrUnavailable = errors.New("presave: pre-save is not available here")
)

// Flow runs consent for the configured direct platforms.
type Flow struct {
	DB *bun.DB
	// Erasure recognises addresses erased from a workspace: the pre-ticked
	// "also email me" box is not fresh enough consent to add them back.
	Erasure fans.Key
	Vault   *vault.Keyring
	Clients map[string]platform.Client
	Now     func() time.Time
}

// Enabled tells whether the platform saves directly (its credentials are configured).
func (f *Flow) Enabled(platformKey string) bool {
	if f == nil {
		return false
	}
	_, ok := f.Clients[platformKey]
	return ok
}

// Open tells whether a link takes pre-saves now.
func Open(l *models.Link) bool { return l.State == models.LinkLive || l.State == models.LinkReleased }

// Start records a consent attempt and returns the platform's consent URL and
// the state value to bind to the fan's browser (in a cookie). shown is the
// consent version the page's form names (see shownVersion).
func (f *Flow) Start(ctx context.Context, l *models.Link, platformKey string, emailOptIn bool, shown string) (authURL, state string, err error) {
	c, ok := f.Clients[platformKey]
	if !ok || !Open(l) {
		return "", "", ErrUnavailable
	}
	state = auth.NewToken("")
	verifier := oauth2.GenerateVerifier()
	now := f.Now()
	err = store.CreateOAuthState(ctx, f.DB, &models.OAuthState{StateHash: auth.HashToken(state), LinkID: l.ID,
		Platform: platformKey, Verifier: verifier, EmailOptIn: emailOptIn, ConsentVersion: shownVersion(shown, l, now),
		CreatedAt: now, ExpiresAt: now.Add(StateTTL)})
	if err != nil {
		return "", "", err
	}
	return c.AuthorizeURL(state, verifier, c.Scopes(emailOptIn)), state, nil
}

// Callback is what the platform's redirect and the fan's browser brought back.
type Callback struct {
	Platform    string
	CookieState string // from the browser's cookie
	QueryState  string // from the redirect
	Code        string
	Error       string // "access_denied" when the fan refused
	IP          string
	UserAgent   string
}

// Result is a completed pre-save.
type Result struct {
	Presave *models.Presave
	Link    *models.Link
	// RevokeToken is the fan's undo token, shown now and never stored in the clear.
	RevokeToken string
	// NeedEmail: the fan ticked "also email me" but the platform gave no email.
	NeedEmail bool
	// Enqueued: the release is out, so the delivery was enqueued at once
	// (the caller wakes the workers).
	Enqueued bool
}

// Complete checks the state, trades the code for tokens, reads the profile
// and stores the pre-save with its sealed credential and consent record, all
// or nothing. On ErrDenied the link is returned so the page can offer "try again".
func (f *Flow) Complete(ctx context.Context, cb Callback) (Result, error) {
	st, l, err := f.takeState(ctx, cb.Platform, cb.CookieState, cb.QueryState)
	if err != nil {
		return Result{}, err
	}
	if cb.Error != "" {
		return Result{Link: l}, ErrDenied
	}
	c, ok := f.Clients[cb.Platform]
	if !ok || !Open(l) {
		return Result{Link: l}, ErrUnavailable
	}
	if cb.Code == "" {
		return Result{}, ErrBadState
	}
	tok, err := c.Exchange(ctx, cb.Code, st.Verifier)
	if err != nil {
		return Result{Link: l}, fmt.Errorf("presave: exchange: %w", err)
	}
	prof, err := c.Profile(ctx, tok.AccessToken)
	if err != nil {
		return Result{Link: l}, fmt.Errorf("presave: profile: %w", err)
	}
	if prof.ID == "" || tok.RefreshToken == "" {
		return Result{Link: l}, &platform.Error{Platform: cb.Platform, Kind: platform.Permanent, Message: "no account id or refresh token in the answer"}
	}
	return f.record(ctx, st, l, prof, tok.RefreshToken, grantedScope(tok.Scope, c.Scopes(st.EmailOptIn)), cb.IP, cb.UserAgent)
}

// takeState checks the state the browser brought back against its cookie
// and spends it (one use), returning the attempt and its link.
func (f *Flow) takeState(ctx context.Context, platformKey, cookieState, sentState string) (*models.OAuthState, *models.Link, error) {
	if sentState == "" || cookieState == "" ||
		subtle.ConstantTimeCompare([]byte(sentState), []byte(cookieState)) != 1 {
		return nil, nil, ErrBadState
	}
	st, err := store.TakeOAuthState(ctx, f.DB, auth.HashToken(sentState), f.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrBadState
	}
	if err != nil {
		return nil, nil, err
	}
	if st.Platform != platformKey {
		return nil, nil, ErrBadState
	}
	l, err := store.LinkForFan(ctx, f.DB, st.LinkID)
	if err != nil {
		return nil, nil, err
	}
	return st, l, nil
}

// record stores the pre-save of a fan who consented: the consent record, the
// sealed credential, the delivery when the release is out, the email
// subscription when asked for. All or nothing.
func (f *Flow) record(ctx context.Context, st *models.OAuthState, l *models.Link, prof platform.Profile,
	credential, scope, ip, userAgent string) (Result, error) {
	now := f.Now()
	var err error
	email, erased := "", false
	if st.EmailOptIn && prof.Email != "" {
		if e, msg := validate.Email(prof.Email); msg == "" {
			email = e
		}
	}
	if email != "" {
		if erased, err = f.Erasure.Erased(ctx, f.DB, l.WorkspaceID, email); err != nil {
			return Result{Link: l}, err
		}
		if erased {
			email = ""
		}
	}
	revoke := auth.NewToken("")
	// The wording beside the button the fan pressed, even when the consent
	// screen is finished after the release flipped the page.
	version := shownVersion(st.ConsentVersion, l, now)
	p := &models.Presave{WorkspaceID: l.WorkspaceID, LinkID: l.ID, Platform: st.Platform, PlatformUserID: prof.ID,
		DisplayName: truncate(prof.DisplayName, 200), Email: email, EmailOptIn: st.EmailOptIn,
		IP: ip, UserAgent: truncate(userAgent, 400), ConsentVersion: version, ConsentedAt: now,
		Scope: scope, Storefront: prof.Storefront, State: models.PresavePending,
		RevokeTokenHash: auth.HashToken(revoke), CreatedAt: now, UpdatedAt: now}
	err = f.DB.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		textID, err := store.ConsentTextID(ctx, tx, p.ConsentVersion, consentText(p.ConsentVersion), now)
		if err != nil {
			return err
		}
		p.ConsentTextID = &textID
		if err := store.UpsertPresave(ctx, tx, p); err != nil {
			return err
		}
		blob, version, err := SealCredential(f.Vault, p.ID, credential)
		if err != nil {
			return err
		}
		if err := store.SetPresaveCredential(ctx, tx, p.ID, blob, version); err != nil {
			return err
		}
		if released(l, now) {
			// Out already: save now, not at a release run that has passed.
			if err := enqueueDelivery(ctx, tx, p, now); err != nil {
				return err
			}
		}
		if email == "" {
			return nil
		}
		return subscribe(ctx, tx, l, email, st.Platform, ip, p.UserAgent, now)
	})
	if err != nil {
		return Result{Link: l}, err
	}
	return Result{Presave: p, Link: l, RevokeToken: revoke, NeedEmail: st.EmailOptIn && email == "" && !erased, Enqueued: released(l, now)}, nil
}

// subscribe adds the fan to the workspace's subscribers through this link:
// the same subscriber and consent row the email signup writes.
func subscribe(ctx context.Context, db bun.IDB, l *models.Link, email, platformKey, ip, ua string, now time.Time) error {
	textID, err := store.ConsentTextID(ctx, db, EmailConsentVersion, EmailConsentText, now)
	if err != nil {
		return err
	}
	s := &models.Subscriber{WorkspaceID: l.WorkspaceID, Email: email, Platform: platformKey,
		Status: models.SubscriberActive, CreatedAt: now, UpdatedAt: now}
	if err := store.UpsertSubscriber(ctx, db, s); err != nil {
		return err
	}
	return store.UpsertSignup(ctx, db, &models.Signup{WorkspaceID: l.WorkspaceID, LinkID: l.ID, SubscriberID: s.ID,
		Platform: platformKey, IP: ip, UserAgent: ua, ConsentVersion: EmailConsentVersion, ConsentTextID: &textID,
		ConsentedAt: now, CreatedAt: now})
}

// grantedScope is what the platform says it granted, or what we asked for
// when it does not say.
func grantedScope(granted string, asked []string) string {
	if strings.TrimSpace(granted) != "" {
		return strings.Join(strings.Fields(granted), " ")
	}
	return strings.Join(asked, " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Revoked describes a revoke for the fan's page.
type Revoked struct {
	Presave *models.Presave
	Link    *models.Link
	// Changed is false when it was already revoked (or final) before.
	Changed bool
}

// Find returns the pre-save an undo token names, without changing anything.
func Find(ctx context.Context, db bun.IDB, token string) (*models.Presave, *models.Link, error) {
	if token == "" {
		return nil, nil, store.ErrNotFound
	}
	p, err := store.PresaveByRevokeToken(ctx, db, auth.HashToken(token))
	if err != nil {
		return nil, nil, err
	}
	l, err := store.LinkByID(ctx, db, p.WorkspaceID, p.LinkID)
	if err != nil {
		return nil, nil, err
	}
	return p, l, nil
}

// Revoke cancels the pre-save and destroys its credential at once. A second
// call changes nothing and says so.
func Revoke(ctx context.Context, db bun.IDB, token string, now time.Time) (Revoked, error) {
	p, l, err := Find(ctx, db, token)
	if err != nil {
		return Revoked{}, err
	}
	changed, err := store.RevokePresave(ctx, db, p.ID, now)
	if err != nil {
		return Revoked{}, err
	}
	if changed {
		p, err = store.PresaveByID(ctx, db, p.ID)
		if err != nil {
			return Revoked{}, err
		}
	}
	return Revoked{Presave: p, Link: l, Changed: changed}, nil
}
