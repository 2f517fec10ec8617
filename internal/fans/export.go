package fans

import (
	"time"

	"github.com/dropday/dropday/models"
)

// Export is the fan's data as the JSON download: every field of their
// consent records, in plain names. Only this workspace's rows are in it.
type Export struct {
	GeneratedAt  time.Time         `json:"generated_at"`
	Controller   ExportController  `json:"controller"`
	Emails       []string          `json:"emails"`
	Accounts     []ExportAccount   `json:"platform_accounts"`
	Presaves     []ExportPresave   `json:"presaves"`
	Subscribers  []ExportSubscribe `json:"subscriptions"`
	Signups      []ExportSignup    `json:"signups"`
	EmailsSent   []ExportRecipient `json:"release_day_emails"`
	Outbox       []ExportOutbox    `json:"emails_kept_on_server"`
	PendingSaves int               `json:"pending_deliveries"`
}

// ExportController says whose list this is.
type ExportController struct {
	Workspace string `json:"workspace"`
	Name      string `json:"name"`
	Contact   string `json:"contact"`
}

// ExportAccount is a platform account.
type ExportAccount struct {
	Platform string `json:"platform"`
	UserID   string `json:"user_id"`
}

// ExportLink names the release page a record was made on.
type ExportLink struct {
	Slug   string `json:"slug"`
	Title  string `json:"title"`
	Artist string `json:"artist"`
}

// ExportConsent is the exact wording the fan agreed to.
type ExportConsent struct {
	Kind    string `json:"kind"`
	Version int64  `json:"version"`
	Text    string `json:"text"`
}

// ExportPresave is a pre-save with its consent record. The credential itself
// is never exported (it is sealed and useless outside dropday); whether one
// is still held is.
type ExportPresave struct {
	Link            ExportLink     `json:"link"`
	Platform        string         `json:"platform"`
	PlatformUserID  string         `json:"platform_user_id"`
	DisplayName     string         `json:"display_name"`
	Email           string         `json:"email"`
	EmailOptIn      bool           `json:"email_opt_in"`
	IP              string         `json:"ip"`
	UserAgent       string         `json:"user_agent"`
	ConsentVersion  string         `json:"consent_version"`
	Consent         *ExportConsent `json:"consent_text"`
	ConsentedAt     time.Time      `json:"consented_at"`
	Scope           string         `json:"scope"`
	Storefront      string         `json:"storefront"`
	State           string         `json:"state"`
	HoldsCredential bool           `json:"holds_platform_access"`
	CredentialKey   *int           `json:"credential_key_version"`
	LastError       string         `json:"last_error"`
	DeliveredAt     *time.Time     `json:"delivered_at"`
	RevokedAt       *time.Time     `json:"revoked_at"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
	RevokeTokenNote string         `json:"revoke_token"`
}

// ExportSubscribe is a subscription to the workspace's emails.
type ExportSubscribe struct {
	Email      string    `json:"email"`
	Platform   string    `json:"platform"`
	Status     string    `json:"status"`
	Suppressed string    `json:"mail_suppressed"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// ExportSignup is a consent record of an email signup.
type ExportSignup struct {
	Link           ExportLink     `json:"link"`
	Email          string         `json:"email"`
	Platform       string         `json:"platform"`
	IP             string         `json:"ip"`
	UserAgent      string         `json:"user_agent"`
	ConsentVersion string         `json:"consent_version"`
	Consent        *ExportConsent `json:"consent_text"`
	ConsentedAt    time.Time      `json:"consented_at"`
	CreatedAt      time.Time      `json:"created_at"`
}

// ExportRecipient is one release-day email.
type ExportRecipient struct {
	Link      ExportLink `json:"link"`
	Subject   string     `json:"subject"`
	Email     string     `json:"email"`
	Platform  string     `json:"platform"`
	State     string     `json:"state"`
	Error     string     `json:"error"`
	SentAt    *time.Time `json:"sent_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// ExportOutbox is an email kept on the server by the outbox driver.
type ExportOutbox struct {
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	CreatedAt time.Time `json:"created_at"`
}

// Export turns the data into the download.
func (d *Data) Export(now time.Time) Export {
	ex := Export{GeneratedAt: now.UTC(), Emails: append([]string{}, d.Identity.Emails...),
		Controller: ExportController{Workspace: d.Workspace.Name, Name: d.Privacy.ControllerName, Contact: d.Privacy.ContactEmail},
		Accounts:   []ExportAccount{}, Presaves: []ExportPresave{}, Subscribers: []ExportSubscribe{},
		Signups: []ExportSignup{}, EmailsSent: []ExportRecipient{}, Outbox: []ExportOutbox{}, PendingSaves: d.PendingDeliveries}
	for _, a := range d.Identity.Accounts {
		ex.Accounts = append(ex.Accounts, ExportAccount{Platform: a.Platform, UserID: a.UserID})
	}
	for _, p := range d.Presaves {
		ex.Presaves = append(ex.Presaves, ExportPresave{Link: d.link(p.LinkID), Platform: p.Platform,
			PlatformUserID: p.PlatformUserID, DisplayName: p.DisplayName, Email: p.Email, EmailOptIn: p.EmailOptIn,
			IP: p.IP, UserAgent: p.UserAgent, ConsentVersion: p.ConsentVersion, Consent: d.consent(p.ConsentTextID),
			ConsentedAt: p.ConsentedAt.UTC(), Scope: p.Scope, Storefront: p.Storefront, State: p.State, HoldsCredential: d.Credentials[p.ID],
			CredentialKey: p.CredentialKeyVersion, LastError: p.LastError, DeliveredAt: utc(p.DeliveredAt),
			RevokedAt: utc(p.RevokedAt), CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
			RevokeTokenNote: "stored only as a hash; your undo link holds it"})
	}
	emails := map[int64]string{}
	for _, sub := range d.Subscribers {
		emails[sub.ID] = sub.Email
		ex.Subscribers = append(ex.Subscribers, ExportSubscribe{Email: sub.Email, Platform: sub.Platform, Status: sub.Status,
			Suppressed: d.Suppressed[sub.Email], CreatedAt: sub.CreatedAt.UTC(), UpdatedAt: sub.UpdatedAt.UTC()})
	}
	for _, g := range d.Signups {
		ex.Signups = append(ex.Signups, ExportSignup{Link: d.link(g.LinkID), Email: emails[g.SubscriberID], Platform: g.Platform,
			IP: g.IP, UserAgent: g.UserAgent, ConsentVersion: g.ConsentVersion, Consent: d.consent(g.ConsentTextID),
			ConsentedAt: g.ConsentedAt.UTC(), CreatedAt: g.CreatedAt.UTC()})
	}
	for _, r := range d.Recipients {
		ex.EmailsSent = append(ex.EmailsSent, ExportRecipient{Link: d.link(r.LinkID), Subject: r.Subject, Email: r.Email,
			Platform: r.Platform, State: r.State, Error: r.Error, SentAt: utc(r.SentAt), UpdatedAt: r.UpdatedAt.UTC()})
	}
	for _, m := range d.Outbox {
		ex.Outbox = append(ex.Outbox, ExportOutbox{To: m.Recipient, Subject: m.Subject, CreatedAt: m.CreatedAt.UTC()})
	}
	return ex
}

func (d *Data) link(id int64) ExportLink {
	l, ok := d.Links[id]
	if !ok {
		return ExportLink{}
	}
	return ExportLink{Slug: l.Slug, Title: l.Title, Artist: l.Artist}
}

func (d *Data) consent(id *int64) *ExportConsent {
	if id == nil {
		return nil
	}
	t, ok := d.Texts[*id]
	if !ok {
		return nil
	}
	return &ExportConsent{Kind: t.Kind, Version: t.ID, Text: t.Text}
}

// ConsentText returns the wording of a record ("" when it predates versions).
func (d *Data) ConsentText(id *int64) string {
	if c := d.consent(id); c != nil {
		return c.Text
	}
	return ""
}

// LinkOf returns a record's link (nil when unknown).
func (d *Data) LinkOf(id int64) *models.Link { return d.Links[id] }

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
