package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/audit"
	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/presave"
	rel "github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

var sameOriginHdr = http.Header{"Sec-Fetch-Site": {"same-origin"}}

const fanEmail = "fan1@example.test" // the Spotify stand-in's default fan

// fanWorld is one fan known to two workspaces: in A (the one under test) by
// a pre-save with "also email me", an email signup, a release-day email, an
// outbox message and a pending delivery; in B by an email signup only.
type fanWorld struct {
	app     *testapp.App
	owner   testapp.Owner
	a, b    *models.Link
	revoke  string // the pre-save's undo token in A
	presave *models.Presave
}

func newFanWorld(t *testing.T, pg bool) *fanWorld {
	t.Helper()
	app := testapp.New(t, testapp.Options{Spotify: true, Postgres: pg})
	ctx := context.Background()
	w := &fanWorld{app: app}
	w.owner = app.CreateOwner("artist@example.com", "Mara Lune")
	ob := app.CreateOwner("other@example.com", "Other label")
	w.a = app.Link(w.owner.Workspace.ID, "night-drive", models.LinkLive, app.Clock.Now().Add(72*time.Hour))
	w.b = app.Link(ob.Workspace.ID, "other-song", models.LinkLive, app.Clock.Now().Add(72*time.Hour))

	c := app.NewClient()
	k := startConsent(t, app, c, "night-drive", true)
	k.finish(t, c)
	loc := k.final.Header.Get("Location")
	if k.final.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "?t=") {
		t.Fatalf("pre-save: %d %q", k.final.StatusCode, loc)
	}
	w.revoke = loc[strings.Index(loc, "?t=")+3:]
	p, err := store.PresaveByRevokeToken(ctx, app.DB, auth.HashToken(w.revoke))
	if err != nil || p.Email != fanEmail {
		t.Fatalf("pre-save row: %+v %v", p, err)
	}
	w.presave = p
	// The same address signs up through B's page (another artist's list).
	if res, body := c.Do(http.MethodPost, "/other-song/signup", url.Values{"email": {fanEmail}, "platform": {"deezer"}}, sameOriginHdr); res.StatusCode != http.StatusOK {
		t.Fatalf("signup in B: %d\n%s", res.StatusCode, body)
	}
	// A release-day email to the fan in A, an outbox copy and a pending delivery.
	var sub models.Subscriber
	mustDo(t, app.DB.NewSelect().Model(&sub).Where("workspace_id = ? AND email = ?", w.owner.Workspace.ID, fanEmail).Scan(ctx))
	now := app.Clock.Now()
	b := &models.Broadcast{WorkspaceID: w.owner.Workspace.ID, LinkID: w.a.ID, Subject: "Out now", Body: "Hi", BodyFormat: "markdown",
		State: models.BroadcastSent, CreatedAt: now, UpdatedAt: now}
	_, err = app.DB.NewInsert().Model(b).Exec(ctx)
	mustDo(t, err)
	_, err = app.DB.NewInsert().Model(&models.Recipient{BroadcastID: b.ID, SubscriberID: sub.ID, Email: fanEmail, Platform: "spotify",
		PresaveID: &p.ID, Batch: 0, State: models.RecipientDelivered, UnsubscribeTokenHash: auth.HashToken("unsub-a"), SentAt: &now, UpdatedAt: now}).Exec(ctx)
	mustDo(t, err)
	wid := w.owner.Workspace.ID
	_, err = app.DB.NewInsert().Model(&models.OutboxMessage{WorkspaceID: &wid, MessageID: "m-1", Sender: "a@example.com", Recipient: fanEmail,
		Subject: "Out now", Headers: map[string]string{}, CreatedAt: now}).Exec(ctx)
	mustDo(t, err)
	if n, err := rel.EnqueueDeliveries(ctx, app.DB, w.a.ID, now); err != nil || n != 1 {
		t.Fatalf("enqueue delivery: %d %v", n, err)
	}
	return w
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// countWhere counts rows of a table matching a condition.
func countWhere(t *testing.T, app *testapp.App, table, where string, args ...any) int {
	t.Helper()
	n, err := app.DB.NewSelect().Table(table).Where(where, args...).Count(context.Background())
	mustDo(t, err)
	return int(n)
}

var verifyRE = regexp.MustCompile(`/privacy/night-drive/verify/([A-Za-z0-9_-]+)`)

// Erasure through the undo link removes every row about the fan in that
// workspace (and only there), keeps a keyed hash of the address, confirms
// by email, and a later pre-save or signup does not silently re-add them.
func TestFanErasure(t *testing.T) {
	bothDBs(t, func(t *testing.T, pg bool) {
		w := newFanWorld(t, pg)
		app, wid := w.app, w.owner.Workspace.ID
		c := app.NewClient()

		// Proof by email: the same answer for a known and an unknown address;
		// only the known one gets a link, which works once.
		_, known := c.Do(http.MethodPost, "/privacy/night-drive/email", url.Values{"email": {fanEmail}}, sameOriginHdr)
		_, unknown := c.Do(http.MethodPost, "/privacy/night-drive/email", url.Values{"email": {"nobody@example.test"}}, sameOriginHdr)
		app.Fans.Wait()
		if strings.ReplaceAll(known, fanEmail, "X") != strings.ReplaceAll(unknown, "nobody@example.test", "X") || !strings.Contains(known, `data-testid="privacy-sent"`) {
			t.Fatalf("the answers differ or say nothing:\n%s\n---\n%s", known, unknown)
		}
		var ms []models.OutboxMessage
		mustDo(t, app.DB.NewSelect().Model(&ms).Where("subject LIKE ?", "Your data with%").Scan(context.Background()))
		if len(ms) != 1 || ms[0].Recipient != fanEmail {
			t.Fatalf("data link emails: %+v", ms)
		}
		m := verifyRE.FindStringSubmatch(ms[0].Text)
		if m == nil {
			t.Fatalf("no link in the email:\n%s", ms[0].Text)
		}
		if res, body := c.Get(m[0]); res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="fan-verify-submit"`) {
			t.Fatalf("verify page: %d", res.StatusCode)
		}
		res, _ := c.Do(http.MethodPost, m[0], url.Values{}, sameOriginHdr)
		session := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(session, "/privacy/night-drive/data/s.") {
			t.Fatalf("verify: %d %q", res.StatusCode, session)
		}
		if res, _ := c.Do(http.MethodPost, m[0], url.Values{}, sameOriginHdr); res.StatusCode != http.StatusNotFound {
			t.Fatalf("the emailed link worked twice: %d", res.StatusCode)
		}
		res, body := c.Get(session)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Fan One") || strings.Count(body, `data-testid="fan-item"`) != 4 {
			t.Fatalf("data page by email session: %d, %d items\n%s", res.StatusCode, strings.Count(body, `data-testid="fan-item"`), body)
		}
		// Another workspace's page does not accept this workspace's proof.
		if res, _ := c.Get("/privacy/other-song/data/r." + w.revoke); res.StatusCode != http.StatusNotFound {
			t.Fatalf("proof across workspaces: %d", res.StatusCode)
		}
		// A cross-site POST erases nothing.
		if res, _ := c.Do(http.MethodPost, "/privacy/night-drive/data/r."+w.revoke+"/erase", url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site erase: %d", res.StatusCode)
		}

		// Erase with the undo link's token.
		res, body = c.Do(http.MethodPost, "/privacy/night-drive/data/r."+w.revoke+"/erase", url.Values{}, sameOriginHdr)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="fan-erased"`) {
			t.Fatalf("erase: %d\n%s", res.StatusCode, body)
		}
		for table, where := range map[string]string{
			"presaves":             "workspace_id = ?",
			"subscribers":          "workspace_id = ?",
			"signups":              "workspace_id = ?",
			"broadcast_recipients": "broadcast_id IN (SELECT id FROM broadcasts WHERE workspace_id = ?)",
			"outbox_messages":      "workspace_id = ?",
			"fan_tokens":           "workspace_id = ?",
		} {
			if n := countWhere(t, app, table, where, wid); n != 0 {
				t.Errorf("%s: %d rows left about the fan in the workspace", table, n)
			}
		}
		if n := countWhere(t, app, "jobs", "unique_key LIKE ?", "deliver:%"); n != 0 {
			t.Errorf("%d delivery jobs left", n)
		}
		// Nothing anywhere in A's rows holds the address, the account id or the IP.
		for _, table := range []string{"presaves", "subscribers", "broadcast_recipients", "audit_log", "erased_emails", "fan_tokens"} {
			for _, needle := range []string{fanEmail, "fan1"} {
				var rows []map[string]any
				mustDo(t, app.DB.NewSelect().Table(table).Scan(context.Background(), &rows))
				for _, r := range rows {
					if r["workspace_id"] != nil && r["workspace_id"] != wid && r["workspace_id"] != int64(wid) {
						continue
					}
					for k, v := range r {
						if s, ok := v.(string); ok && strings.Contains(s, needle) {
							t.Errorf("%s.%s still holds %q: %q", table, k, needle, s)
						}
					}
				}
			}
		}
		// The suppression entry: the keyed hash of the address, in A only.
		var erased []models.ErasedEmail
		mustDo(t, app.DB.NewSelect().Model(&erased).Scan(context.Background()))
		if len(erased) != 1 || erased[0].WorkspaceID != wid || erased[0].EmailHash != app.Fans.Key.Hash(fanEmail) {
			t.Fatalf("erased_emails = %+v", erased)
		}
		// B's list is another controller's: untouched.
		if n := countWhere(t, app, "subscribers", "email = ?", fanEmail); n != 1 {
			t.Fatalf("B's subscriber: %d", n)
		}
		// The confirmation went out, filed under no workspace.
		var conf []models.OutboxMessage
		mustDo(t, app.DB.NewSelect().Model(&conf).Where("subject LIKE ?", "%is erased").Scan(context.Background()))
		if len(conf) != 1 || conf[0].Recipient != fanEmail || conf[0].WorkspaceID != nil || !strings.Contains(conf[0].Text, "/privacy/night-drive") {
			t.Fatalf("confirmation: %+v", conf)
		}
		// The audit log says a fan erased, by a pseudonym.
		var entries []models.AuditEntry
		mustDo(t, app.DB.NewSelect().Model(&entries).Where("action = ?", audit.FanErase).Scan(context.Background()))
		if len(entries) != 1 || entries[0].ActorKind != models.ActorFan || *entries[0].WorkspaceID != wid || !strings.Contains(entries[0].Detail, "presaves=1") {
			t.Fatalf("audit: %+v", entries)
		}
		// The tokens are dead now.
		if res, _ := c.Get("/revoke/" + w.revoke); res.StatusCode != http.StatusNotFound {
			t.Fatalf("undo link after erasure: %d", res.StatusCode)
		}

		// Later: a pre-save with the pre-ticked "also email me" saves, but
		// does not put the address back on the list.
		c2 := app.NewClient()
		k := startConsent(t, app, c2, "night-drive", true)
		k.finish(t, c2)
		if k.final.StatusCode != http.StatusSeeOther {
			t.Fatalf("pre-save again: %d", k.final.StatusCode)
		}
		if n := countWhere(t, app, "subscribers", "workspace_id = ?", wid); n != 0 {
			t.Fatalf("the pre-save re-added the erased address silently (%d subscribers)", n)
		}
		if n := countWhere(t, app, "presaves", "workspace_id = ? AND email = ''", wid); n != 1 {
			t.Fatalf("the new pre-save kept the address: %d", n)
		}
		// The email form asks for a fresh, explicit tick and stores nothing without it.
		res, body = c2.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {fanEmail}, "platform": {"spotify"}}, sameOriginHdr)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="reconsent"`) {
			t.Fatalf("signup of an erased address: %d\n%s", res.StatusCode, body)
		}
		if n := countWhere(t, app, "subscribers", "workspace_id = ?", wid); n != 0 {
			t.Fatalf("the signup re-added the erased address silently (%d subscribers)", n)
		}
		res, _ = c2.Do(http.MethodPost, "/night-drive/signup", url.Values{"email": {fanEmail}, "platform": {"spotify"}, "reconsent": {"1"}}, sameOriginHdr)
		if res.StatusCode != http.StatusOK || countWhere(t, app, "subscribers", "workspace_id = ?", wid) != 1 || app.CountRows("erased_emails") != 0 {
			t.Fatalf("signup with fresh consent: %d", res.StatusCode)
		}
	})
}

// The JSON export holds every field of the consent records, the exact words
// agreed to, and nothing from another workspace.
func TestFanDataExport(t *testing.T) {
	bothDBs(t, func(t *testing.T, pg bool) {
		w := newFanWorld(t, pg)
		app := w.app
		c := app.NewClient()
		res, body := c.Get("/privacy/night-drive/data/r." + w.revoke + "/export.json")
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
			!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("export: %d %v", res.StatusCode, res.Header)
		}
		var ex map[string]any
		mustDo(t, json.Unmarshal([]byte(body), &ex))
		if strings.Contains(body, "other-song") || strings.Contains(body, "deezer") {
			t.Fatalf("the export holds another workspace's data:\n%s", body)
		}
		presaves := ex["presaves"].([]any)
		signups := ex["signups"].([]any)
		if len(presaves) != 1 || len(signups) != 1 || len(ex["release_day_emails"].([]any)) != 1 || len(ex["subscriptions"].([]any)) != 1 {
			t.Fatalf("export sections: %s", body)
		}
		// Every column of the consent records has its field (renamed where the
		// column is internal); a new column fails this until it is exported.
		renamed := map[string]string{"link_id": "link", "consent_text_id": "consent_text", "credential": "holds_platform_access",
			"revoke_token_hash": "revoke_token", "subscriber_id": "email"}
		internal := map[string]bool{"id": true, "workspace_id": true}
		checkFields := func(name string, model any, got map[string]any) {
			rt := reflect.TypeOf(model)
			for i := range rt.NumField() {
				tag := strings.Split(rt.Field(i).Tag.Get("bun"), ",")[0]
				if tag == "" || strings.HasPrefix(tag, "table:") || strings.HasPrefix(tag, "rel:") || internal[tag] {
					continue
				}
				if rt.Field(i).Tag.Get("bun") == "" || strings.Contains(rt.Field(i).Tag.Get("bun"), "rel:") {
					continue
				}
				key := tag
				if r, ok := renamed[tag]; ok {
					key = r
				}
				if _, ok := got[key]; !ok {
					t.Errorf("%s export lacks %s (column %s)", name, key, tag)
				}
			}
		}
		p := presaves[0].(map[string]any)
		g := signups[0].(map[string]any)
		checkFields("presave", models.Presave{}, p)
		checkFields("signup", models.Signup{}, g)
		// The values are the stored ones, and the consent text is the exact wording.
		if p["ip"] != w.presave.IP || p["user_agent"] != w.presave.UserAgent || p["platform_user_id"] != "fan1" ||
			p["consent_version"] != presave.ConsentVersion || p["holds_platform_access"] != true {
			t.Errorf("presave values: %v", p)
		}
		if ct := p["consent_text"].(map[string]any); ct["text"] != presave.ConsentText {
			t.Errorf("presave consent text: %v", ct)
		}
		if ct := g["consent_text"].(map[string]any); ct["text"] != presave.EmailConsentText || g["email"] != fanEmail {
			t.Errorf("signup consent: %v", g)
		}
		if at, err := time.Parse(time.RFC3339, p["consented_at"].(string)); err != nil || !at.Equal(w.presave.ConsentedAt) {
			t.Errorf("consented_at = %v", p["consented_at"])
		}
		// The fan's export is in the audit log.
		if n := countWhere(t, app, "audit_log", "action = ? AND actor_kind = ?", audit.FanExport, models.ActorFan); n != 1 {
			t.Fatalf("fan.export entries: %d", n)
		}
	})
}

// Exports, erasures, deliver-now, key rotation, member and privacy changes
// are in the audit log; the owner reads and filters it, a member can neither
// read it nor change it (no route does), and nothing changes it.
func TestAuditLog(t *testing.T) {
	bothDBs(t, func(t *testing.T, pg bool) {
		w := newFanWorld(t, pg)
		app, wid := w.app, w.owner.Workspace.ID
		ctx := context.Background()
		owner := app.NewClient()
		owner.Login(w.owner)

		// A member of the same workspace.
		pw := "member password 123"
		hash, err := auth.NewHasher(4).Hash(pw)
		mustDo(t, err)
		mu := &models.User{Email: "member@example.com", Name: "Member", PasswordHash: hash, CreatedAt: app.Clock.Now()}
		mustDo(t, store.CreateUser(ctx, app.DB, mu))
		mustDo(t, store.AddMember(ctx, app.DB, &models.Member{WorkspaceID: wid, UserID: mu.ID, Role: models.RoleMember, CreatedAt: app.Clock.Now()}))
		member := app.NewClient()
		member.Login(testapp.Owner{Email: mu.Email, Password: pw})

		// The audited actions, by the owner.
		if res, _ := owner.Get("/admin/subscribers/export.csv?status=active"); res.StatusCode != http.StatusOK {
			t.Fatalf("csv export: %d", res.StatusCode)
		}
		if res, _ := member.Get("/admin/links/" + idStr(w.a.ID) + "/subscribers/export.csv"); res.StatusCode != http.StatusOK {
			t.Fatalf("member's link csv export: %d", res.StatusCode)
		}
		if res, body := owner.PostForm("/admin/settings", "/admin/links/"+idStr(w.a.ID)+"/deliver", nil); res.StatusCode >= 400 {
			t.Fatalf("deliver now: %d %s", res.StatusCode, body)
		}
		if res, body := owner.Get("/admin/fans?q=" + url.QueryEscape(fanEmail)); res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="fan-found"`) {
			t.Fatalf("fan search: %d", res.StatusCode)
		}
		if res, body := owner.Get("/admin/fans/export.json?q=fan1"); res.StatusCode != http.StatusOK || !strings.Contains(body, `"platform_user_id": "fan1"`) {
			t.Fatalf("admin fan export by account id: %d\n%s", res.StatusCode, body)
		}
		// A member may look up and export, not erase.
		if res, _ := member.PostForm("/admin/fans", "/admin/fans/erase", url.Values{"q": {fanEmail}}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("member erase: %d", res.StatusCode)
		}
		if n := countWhere(t, app, "presaves", "workspace_id = ?", wid); n != 1 {
			t.Fatalf("the member's erase changed something: %d presaves", n)
		}
		if res, body := owner.PostForm("/admin/fans", "/admin/fans/erase", url.Values{"q": {fanEmail}}); res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="fan-erased"`) {
			t.Fatalf("owner erase: %d\n%s", res.StatusCode, body)
		}
		if n := countWhere(t, app, "presaves", "workspace_id = ?", wid); n != 0 {
			t.Fatalf("the owner's erase left %d presaves", n)
		}
		if res, _ := owner.PostForm("/admin/settings", "/admin/settings/privacy", url.Values{"controller_name": {"Mara Lune Music Ltd"},
			"contact_email": {"privacy@maralune.example"}, "coarsen_after_days": {"14"}, "purge_after_days": {"0"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("privacy settings: %d", res.StatusCode)
		}
		// Bad input is refused and changes nothing.
		if res, body := owner.PostForm("/admin/settings", "/admin/settings/privacy", url.Values{"controller_name": {"X"},
			"contact_email": {"nope"}, "coarsen_after_days": {"0"}, "purge_after_days": {"-1"}}); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `data-testid="contact_email-error"`) || !strings.Contains(body, `data-testid="coarsen_after_days-error"`) {
			t.Fatalf("bad privacy settings: %d", res.StatusCode)
		}
		if p, err := store.PrivacyOf(ctx, app.DB, wid); err != nil || p.ControllerName != "Mara Lune Music Ltd" || p.CoarsenAfterDays != 14 {
			t.Fatalf("privacy settings after a refused save: %+v %v", p, err)
		}
		if res, body := member.PostForm("/admin/settings", "/admin/settings/privacy", url.Values{"controller_name": {"Evil"},
			"coarsen_after_days": {"1"}, "purge_after_days": {"1"}}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("member privacy settings: %d %s", res.StatusCode, body)
		}
		mustDo(t, audit.Record(ctx, app.DB, audit.CLI, 0, audit.KeysRotate, "credentials under key 2", "rewrapped=3", app.Clock.Now()))
		if res, _ := owner.PostForm("/admin/members", "/admin/members/"+idStr(mu.ID)+"/remove", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("remove member: %d", res.StatusCode)
		}

		var entries []models.AuditEntry
		mustDo(t, app.DB.NewSelect().Model(&entries).OrderExpr("id").Scan(ctx))
		got := map[string]models.AuditEntry{}
		for _, e := range entries {
			if _, ok := got[e.Action]; !ok {
				got[e.Action] = e // the first of each: the owner's
			}
		}
		for _, a := range []string{audit.SubscribersExport, audit.DeliverNow, audit.FanExport, audit.FanErase, audit.PrivacySettings, audit.KeysRotate, audit.MemberRemove} {
			e, ok := got[a]
			if !ok {
				t.Errorf("no %s entry in %+v", a, entries)
				continue
			}
			if a != audit.KeysRotate && (e.Actor != w.owner.Email || e.IP == "" || e.UserAgent == "" || e.WorkspaceID == nil || *e.WorkspaceID != wid) {
				t.Errorf("%s entry: %+v", a, e)
			}
		}
		if n := countWhere(t, app, "audit_log", "action = ? AND actor = ?", audit.SubscribersExport, "member@example.com"); n != 1 {
			t.Errorf("the member's export is not logged: %d", n)
		}
		if e := got[audit.DeliverNow]; !strings.Contains(e.Detail, "enqueued=") {
			t.Errorf("deliver-now detail: %q", e.Detail)
		}
		for _, e := range entries {
			if strings.Contains(e.Target+e.Detail, fanEmail) {
				t.Errorf("an entry names the fan's address: %+v", e)
			}
		}

		// The owner reads it, filtered.
		res, body := owner.Get("/admin/audit")
		if res.StatusCode != http.StatusOK || strings.Count(body, `data-testid="audit-row"`) != len(entries) || !strings.Contains(body, "Keys rotated") {
			t.Fatalf("audit page: %d, %d rows of %d", res.StatusCode, strings.Count(body, `data-testid="audit-row"`), len(entries))
		}
		res, body = owner.Get("/admin/audit?action=fan.erase&from=2026-11-21&to=2026-11-21")
		if res.StatusCode != http.StatusOK || strings.Count(body, `data-testid="audit-row"`) != 1 || !strings.Contains(body, `data-action="fan.erase"`) {
			t.Fatalf("filtered audit page: %d, %d rows", res.StatusCode, strings.Count(body, `data-testid="audit-row"`))
		}
		if _, body = owner.Get("/admin/audit?from=2026-11-22"); strings.Count(body, `data-testid="audit-row"`) != 0 {
			t.Fatal("the date filter keeps later entries")
		}
		// Another workspace's owner sees only the instance-wide entry.
		other := app.NewClient()
		other.Login(testapp.Owner{Email: "other@example.com", Password: w.owner.Password})
		if _, body = other.Get("/admin/audit"); strings.Count(body, `data-testid="audit-row"`) != 1 {
			t.Fatalf("another workspace sees %d rows", strings.Count(body, `data-testid="audit-row"`))
		}

		// A member (added back) cannot read it, and nothing can change it.
		mustDo(t, store.AddMember(ctx, app.DB, &models.Member{WorkspaceID: wid, UserID: mu.ID, Role: models.RoleMember, CreatedAt: app.Clock.Now()}))
		member = app.NewClient()
		member.Login(testapp.Owner{Email: mu.Email, Password: pw})
		if res, _ := member.Get("/admin/audit"); res.StatusCode != http.StatusForbidden {
			t.Fatalf("member reads the audit log: %d", res.StatusCode)
		}
		if _, body := member.Get("/admin/links"); strings.Contains(body, `href="/admin/audit"`) {
			t.Error("the member's menu links to the audit log")
		}
		before := app.CountRows("audit_log")
		id := idStr(entries[0].ID)
		for _, c := range []*testapp.Client{member, owner} {
			for _, try := range []struct{ method, path string }{
				{http.MethodPost, "/admin/audit"}, {http.MethodPost, "/admin/audit/" + id + "/delete"},
				{http.MethodPost, "/admin/audit/" + id}, {http.MethodDelete, "/admin/audit/" + id},
				{http.MethodPut, "/admin/audit/" + id}, {http.MethodPatch, "/admin/audit"},
			} {
				form := url.Values{"_csrf": {c.CSRF("/admin/links")}}
				if res, _ := c.Do(try.method, try.path, form, nil); res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed {
					t.Errorf("%s %s: %d", try.method, try.path, res.StatusCode)
				}
			}
		}
		if after := app.CountRows("audit_log"); after != before {
			t.Fatalf("the audit log changed: %d → %d rows", before, after)
		}
		var again []models.AuditEntry
		mustDo(t, app.DB.NewSelect().Model(&again).OrderExpr("id").Scan(ctx))
		if !reflect.DeepEqual(entries, again[:len(entries)]) {
			t.Fatal("an audit entry changed")
		}
	})
}

func idStr(n int64) string { return strconv.FormatInt(n, 10) }
