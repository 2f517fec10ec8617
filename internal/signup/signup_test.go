package signup_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/fans"
	"github.com/dropday/dropday/internal/signup"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func TestCheck(t *testing.T) {
	tests := []struct {
		name         string
		in           signup.Input
		wantEmail    string
		wantPlatform string
		wantErr      []string // fields with errors
	}{
		{"valid", signup.Input{Erasure: testKey, Email: "fan@example.com", Platform: "spotify"}, "fan@example.com", "spotify", nil},
		{"normalised", signup.Input{Erasure: testKey, Email: "  Fan@Example.COM ", Platform: " tidal "}, "fan@example.com", "tidal", nil},
		{"no platform is other", signup.Input{Erasure: testKey, Email: "fan@example.com"}, "fan@example.com", "other", nil},
		{"every platform key", signup.Input{Erasure: testKey, Email: "fan@example.com", Platform: "amazon_music"}, "fan@example.com", "amazon_music", nil},
		{"unknown platform", signup.Input{Erasure: testKey, Email: "fan@example.com", Platform: "napster"}, "fan@example.com", "", []string{"platform"}},
		{"platform name is not a key", signup.Input{Erasure: testKey, Email: "fan@example.com", Platform: "Spotify"}, "fan@example.com", "", []string{"platform"}},
		{"empty email", signup.Input{Erasure: testKey, Platform: "spotify"}, "", "spotify", []string{"email"}},
		{"bad email", signup.Input{Erasure: testKey, Email: "fan@example", Platform: "spotify"}, "", "spotify", []string{"email"}},
		{"display name form", signup.Input{Erasure: testKey, Email: "Fan <fan@example.com>", Platform: "spotify"}, "", "spotify", []string{"email"}},
		{"both bad", signup.Input{Erasure: testKey, Email: "nope", Platform: "x"}, "", "", []string{"email", "platform"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email, p, errs := signup.Check(tt.in)
			if email != tt.wantEmail {
				t.Errorf("email = %q, want %q", email, tt.wantEmail)
			}
			if tt.wantPlatform != "" && p.Key != tt.wantPlatform {
				t.Errorf("platform = %q, want %q", p.Key, tt.wantPlatform)
			}
			if len(errs) != len(tt.wantErr) {
				t.Fatalf("errors = %v, want fields %v", errs, tt.wantErr)
			}
			for i, f := range tt.wantErr {
				if errs[i].Field != f || errs[i].Message == "" {
					t.Errorf("error %d = %+v, want field %q with a message", i, errs[i], f)
				}
			}
		})
	}
}

func TestConsentText(t *testing.T) {
	got := signup.ConsentText("Night Drive")
	if !strings.Contains(got, "Night Drive") || !strings.Contains(got, "Unsubscribe any time") {
		t.Fatalf("ConsentText = %q", got)
	}
	if signup.ConsentVersion == "" {
		t.Fatal("ConsentVersion is empty")
	}
}

func TestOpen(t *testing.T) {
	for state, want := range map[string]bool{
		models.LinkDraft: false, models.LinkLive: true, models.LinkReleased: true, models.LinkArchived: false,
	} {
		if got := signup.Open(&models.Link{State: state}); got != want {
			t.Errorf("Open(%s) = %v, want %v", state, got, want)
		}
	}
}

func seed(t *testing.T, db *bun.DB, state string) *models.Link {
	t.Helper()
	ctx := context.Background()
	w := &models.Workspace{Name: "WS", CreatedAt: t0}
	if err := store.CreateWorkspace(ctx, db, w); err != nil {
		t.Fatal(err)
	}
	l := &models.Link{WorkspaceID: w.ID, Slug: "drop", Title: "T", Artist: "A", ReleaseAt: t0.Add(72 * time.Hour),
		TimeZone: "Europe/Berlin", State: state, CreatedAt: t0, UpdatedAt: t0}
	if err := store.CreateLink(ctx, db, l); err != nil {
		t.Fatal(err)
	}
	return l
}

func count(t *testing.T, db *bun.DB, table string) int {
	t.Helper()
	n, err := db.NewSelect().Table(table).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestSignupStoresConsentOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		l := seed(t, db, models.LinkLive)
		long := strings.Repeat("é", 300) // 600 bytes: the cut must not split a character
		res, err := signup.Signup(ctx, db, l, signup.Input{Erasure: testKey, Email: "Fan@Example.com", Platform: "spotify", IP: "192.0.2.7", UserAgent: long}, t0)
		if err != nil || !res.Stored || res.Email != "fan@example.com" || res.Platform.Key != "spotify" {
			t.Fatalf("Signup = %+v, %v", res, err)
		}
		// Again, later, with another preference: same subscriber, refreshed consent.
		later := t0.Add(time.Hour)
		if _, err := signup.Signup(ctx, db, l, signup.Input{Erasure: testKey, Email: " FAN@example.com", Platform: "deezer", IP: "192.0.2.8", UserAgent: "UA2"}, later); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, "subscribers"); n != 1 {
			t.Fatalf("subscribers = %d, want 1", n)
		}
		ss, total, err := store.LinkSignups(ctx, db, l.WorkspaceID, l.ID, store.SignupFilter{})
		if err != nil || total != 1 {
			t.Fatalf("signups = %d, %v; want 1", total, err)
		}
		s := ss[0]
		if s.Platform != "deezer" || s.Subscriber.Platform != "deezer" || s.IP != "192.0.2.8" || s.UserAgent != "UA2" ||
			s.ConsentVersion != signup.ConsentVersion || !s.ConsentedAt.Equal(later) || s.Subscriber.Status != models.SubscriberActive {
			t.Fatalf("signup row = %+v, subscriber %+v", s, s.Subscriber)
		}
	})
}

func TestSignupTruncatesUserAgent(t *testing.T) {
	db, _ := testdb.SQLite(t)
	ctx := context.Background()
	l := seed(t, db, models.LinkLive)
	long := "a" + strings.Repeat("é", 300)
	if _, err := signup.Signup(ctx, db, l, signup.Input{Erasure: testKey, Email: "fan@example.com", UserAgent: long}, t0); err != nil {
		t.Fatal(err)
	}
	ss, _, err := store.LinkSignups(ctx, db, l.WorkspaceID, l.ID, store.SignupFilter{})
	if err != nil {
		t.Fatal(err)
	}
	ua := ss[0].UserAgent
	if len(ua) > 400 || len(ua) < 398 || !strings.HasPrefix(long, ua) || ss[0].Platform != "other" {
		t.Fatalf("user agent stored as %d bytes %q, platform %q", len(ua), ua, ss[0].Platform)
	}
}

func TestSignupWritesNothing(t *testing.T) {
	db, _ := testdb.SQLite(t)
	ctx := context.Background()
	live := seed(t, db, models.LinkLive)

	_, err := signup.Signup(ctx, db, live, signup.Input{Erasure: testKey, Email: "not an email", Platform: "spotify"}, t0)
	var verrs validate.Errors
	if !errors.As(err, &verrs) || verrs.Get("email") == "" {
		t.Fatalf("bad email: err = %v, want validate.Errors on email", err)
	}
	res, err := signup.Signup(ctx, db, live, signup.Input{Erasure: testKey, Email: "bot@example.com", Platform: "spotify", Honeypot: "http://spam.example"}, t0)
	if err != nil || res.Stored || res.Email != "bot@example.com" {
		t.Fatalf("honeypot: %+v, %v; want a normal result, not stored", res, err)
	}
	for _, state := range []string{models.LinkDraft, models.LinkArchived} {
		l := *live
		l.State = state
		if _, err := signup.Signup(ctx, db, &l, signup.Input{Erasure: testKey, Email: "fan@example.com"}, t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s link: err = %v, want ErrNotFound", state, err)
		}
	}
	if n := count(t, db, "subscribers") + count(t, db, "signups"); n != 0 {
		t.Fatalf("%d rows written, want none", n)
	}
}

var testKey = fans.Key("test-erasure-key-test-erasure-key")

// Each consent record points at the exact words shown: the same words are
// the same version, changed words (a renamed release) a new one, and the
// older record keeps the words it was given.
func TestConsentTextVersions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		l := seed(t, db, models.LinkLive)
		if _, err := signup.Signup(ctx, db, l, signup.Input{Erasure: testKey, Email: "one@example.com"}, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := signup.Signup(ctx, db, l, signup.Input{Erasure: testKey, Email: "two@example.com"}, t0); err != nil {
			t.Fatal(err)
		}
		l.Title = "T (Deluxe)"
		if _, err := signup.Signup(ctx, db, l, signup.Input{Erasure: testKey, Email: "three@example.com"}, t0); err != nil {
			t.Fatal(err)
		}
		var rows []struct {
			Email string `bun:"email"`
			Text  string `bun:"text"`
			ID    int64  `bun:"id"`
		}
		err := db.NewSelect().TableExpr("signups AS g").ColumnExpr("s.email, c.text, c.id").
			Join("JOIN subscribers AS s ON s.id = g.subscriber_id").Join("JOIN consent_texts AS c ON c.id = g.consent_text_id").
			OrderExpr("s.email").Scan(ctx, &rows)
		if err != nil || len(rows) != 3 {
			t.Fatalf("consent rows: %+v %v", rows, err)
		}
		one, three, two := rows[0], rows[1], rows[2]
		if one.ID != two.ID || one.Text != signup.ConsentText("T") {
			t.Errorf("the same words got different versions: %+v %+v", one, two)
		}
		if three.ID == one.ID || three.Text != signup.ConsentText("T (Deluxe)") {
			t.Errorf("changed words kept the version: %+v", three)
		}
		if n := count(t, db, "consent_texts"); n != 2 {
			t.Errorf("consent_texts = %d, want 2", n)
		}
	})
}
