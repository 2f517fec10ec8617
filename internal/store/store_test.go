package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func seedWorkspace(t *testing.T, db bun.IDB, email string) (*models.User, *models.Workspace) {
	t.Helper()
	ctx := context.Background()
	u := &models.User{Email: email, Name: "A", PasswordHash: "x", CreatedAt: t0}
	if err := store.CreateUser(ctx, db, u); err != nil {
		t.Fatal(err)
	}
	w := &models.Workspace{Name: "WS " + email, CreatedAt: t0}
	if err := store.CreateWorkspace(ctx, db, w); err != nil {
		t.Fatal(err)
	}
	if err := store.AddMember(ctx, db, &models.Member{WorkspaceID: w.ID, UserID: u.ID, Role: models.RoleOwner, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	return u, w
}

func newLink(wid int64, slug string) *models.Link {
	return &models.Link{WorkspaceID: wid, Slug: slug, Title: "T", Artist: "A", ReleaseAt: t0.Add(48 * time.Hour),
		TimeZone: "Europe/Berlin", State: models.LinkLive, CreatedAt: t0, UpdatedAt: t0}
}

func TestMigrationsIdempotent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		// testdb already migrated from empty; a second run must be a no-op.
		if err := store.Migrate(context.Background(), db, testdb.Logger(), time.Second); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		n, err := store.CountUsers(context.Background(), db)
		if err != nil || n != 0 {
			t.Fatalf("CountUsers = %d, %v; want 0, nil", n, err)
		}
	})
}

func TestUsersAndMembers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		owner, w := seedWorkspace(t, db, "owner@example.com")
		if err := store.CreateUser(ctx, db, &models.User{Email: "owner@example.com", PasswordHash: "y", CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate email: err = %v, want ErrConflict", err)
		}
		got, err := store.UserByEmail(ctx, db, "owner@example.com")
		if err != nil || got.ID != owner.ID {
			t.Fatalf("UserByEmail = %+v, %v", got, err)
		}
		if _, err := store.UserByEmail(ctx, db, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown email: err = %v, want ErrNotFound", err)
		}
		// The only owner cannot be removed.
		if err := store.RemoveMember(ctx, db, w.ID, owner.ID); !errors.Is(err, store.ErrLastOwner) {
			t.Fatalf("remove last owner: err = %v, want ErrLastOwner", err)
		}
		m := &models.User{Email: "member@example.com", PasswordHash: "x", CreatedAt: t0}
		if err := store.CreateUser(ctx, db, m); err != nil {
			t.Fatal(err)
		}
		if err := store.AddMember(ctx, db, &models.Member{WorkspaceID: w.ID, UserID: m.ID, Role: models.RoleMember, CreatedAt: t0.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		if err := store.AddMember(ctx, db, &models.Member{WorkspaceID: w.ID, UserID: m.ID, Role: models.RoleMember, CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("add member twice: err = %v, want ErrConflict", err)
		}
		ms, err := store.Members(ctx, db, w.ID)
		if err != nil || len(ms) != 2 || ms[0].User.Email != "owner@example.com" || ms[1].User.Email != "member@example.com" {
			t.Fatalf("Members = %+v, %v", ms, err)
		}
		if err := store.RemoveMember(ctx, db, w.ID, m.ID); err != nil {
			t.Fatalf("remove member: %v", err)
		}
		if _, err := store.Membership(ctx, db, w.ID, m.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("membership after removal: err = %v, want ErrNotFound", err)
		}
	})
}

func TestSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		u, w := seedWorkspace(t, db, "s@example.com")
		s := &models.Session{TokenHash: "h1", UserID: u.ID, WorkspaceID: w.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := store.CreateSession(ctx, db, s); err != nil {
			t.Fatal(err)
		}
		if _, err := store.SessionByToken(ctx, db, "h1", t0.Add(30*time.Minute)); err != nil {
			t.Fatalf("live session: %v", err)
		}
		if _, err := store.SessionByToken(ctx, db, "h1", t0.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session: err = %v, want ErrNotFound", err)
		}
		n, err := store.DeleteExpiredSessions(ctx, db, t0.Add(2*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
		}
	})
}

func TestSettingTakeIsSingleUse(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		if err := store.PutSetting(ctx, db, "setup", "a"); err != nil {
			t.Fatal(err)
		}
		if err := store.PutSetting(ctx, db, "setup", "b"); err != nil {
			t.Fatal(err)
		}
		if ok, err := store.TakeSetting(ctx, db, "setup", "a"); ok || err != nil {
			t.Fatalf("take replaced value = %v, %v; want false", ok, err)
		}
		if ok, err := store.TakeSetting(ctx, db, "setup", "b"); !ok || err != nil {
			t.Fatalf("take = %v, %v; want true", ok, err)
		}
		if ok, err := store.TakeSetting(ctx, db, "setup", "b"); ok || err != nil {
			t.Fatalf("second take = %v, %v; want false", ok, err)
		}
	})
}

func TestLinksScopedAndUnique(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		_, w1 := seedWorkspace(t, db, "a@example.com")
		_, w2 := seedWorkspace(t, db, "b@example.com")
		l := newLink(w1.ID, "first-single")
		if err := store.CreateLink(ctx, db, l); err != nil {
			t.Fatal(err)
		}
		if err := store.CreateLink(ctx, db, newLink(w2.ID, "first-single")); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate slug across workspaces: err = %v, want ErrConflict", err)
		}
		if _, err := store.LinkByID(ctx, db, w2.ID, l.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other workspace's link: err = %v, want ErrNotFound", err)
		}
		other := *l
		other.WorkspaceID = w2.ID
		other.Title = "hijacked"
		if err := store.UpdateLink(ctx, db, &other); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update other workspace's link: err = %v, want ErrNotFound", err)
		}
		got, err := store.LinkBySlug(ctx, db, "first-single")
		if err != nil || got.Title != "T" || !got.ReleaseAt.Equal(l.ReleaseAt) {
			t.Fatalf("LinkBySlug = %+v, %v", got, err)
		}
		l.Title = "New title"
		l.UpdatedAt = t0.Add(time.Minute)
		if err := store.UpdateLink(ctx, db, l); err != nil {
			t.Fatal(err)
		}
		second := newLink(w1.ID, "second")
		if err := store.CreateLink(ctx, db, second); err != nil {
			t.Fatal(err)
		}
		second.Slug = "first-single"
		if err := store.UpdateLink(ctx, db, second); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("rename onto a taken slug: err = %v, want ErrConflict", err)
		}
		ls, total, err := store.ListLinks(ctx, db, w1.ID, store.LinkFilter{})
		if err != nil || total != 2 || len(ls) != 2 {
			t.Fatalf("ListLinks = %d links, total %d, %v", len(ls), total, err)
		}
	})
}

func TestSignupUpsertIsOneSubscriber(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		_, w := seedWorkspace(t, db, "c@example.com")
		l := newLink(w.ID, "drop")
		if err := store.CreateLink(ctx, db, l); err != nil {
			t.Fatal(err)
		}
		for i, platform := range []string{"spotify", "tidal"} {
			s := &models.Subscriber{WorkspaceID: w.ID, Email: "fan@example.com", Platform: platform, Status: models.SubscriberActive,
				CreatedAt: t0.Add(time.Duration(i) * time.Hour), UpdatedAt: t0.Add(time.Duration(i) * time.Hour)}
			if err := store.UpsertSubscriber(ctx, db, s); err != nil {
				t.Fatal(err)
			}
			if s.ID == 0 || !s.CreatedAt.Equal(t0) {
				t.Fatalf("upsert #%d: id %d created %v; want the first row back", i, s.ID, s.CreatedAt)
			}
			su := &models.Signup{WorkspaceID: w.ID, LinkID: l.ID, SubscriberID: s.ID, Platform: platform, ConsentVersion: "v1",
				ConsentedAt: s.UpdatedAt, CreatedAt: s.UpdatedAt}
			if err := store.UpsertSignup(ctx, db, su); err != nil {
				t.Fatal(err)
			}
		}
		n, err := store.CountSubscribers(ctx, db, w.ID)
		if err != nil || n != 1 {
			t.Fatalf("CountSubscribers = %d, %v; want 1", n, err)
		}
		ss, total, err := store.LinkSignups(ctx, db, w.ID, l.ID, store.SignupFilter{})
		if err != nil || total != 1 || ss[0].Platform != "tidal" || ss[0].Subscriber.Platform != "tidal" {
			t.Fatalf("LinkSignups = %+v, %d, %v", ss, total, err)
		}
		ls, _, err := store.ListLinks(ctx, db, w.ID, store.LinkFilter{})
		if err != nil || ls[0].SignupCount != 1 {
			t.Fatalf("signup count = %+v, %v", ls, err)
		}
	})
}
