package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

var tokenRE = regexp.MustCompile(`dd_[A-Za-z0-9_-]{43}`)

func TestSettingsTokenLifecycle(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	c := app.NewClient()
	c.Login(o)
	ctx := context.Background()

	res, body := c.Get("/admin/settings")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="no-tokens"`) ||
		!strings.Contains(body, fmt.Sprintf(`data-testid="workspace-id">%d<`, o.Workspace.ID)) ||
		!strings.Contains(body, fmt.Sprintf("dropday token create -workspace %d", o.Workspace.ID)) {
		t.Fatalf("settings page: status %d\n%s", res.StatusCode, body)
	}

	// A nameless token is refused inline and nothing is stored.
	res, body = c.PostForm("/admin/settings", "/admin/tokens", url.Values{"token_name": {"  "}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="token_name-error"`) || tokenRE.MatchString(body) {
		t.Fatalf("nameless token: status %d\n%s", res.StatusCode, body)
	}
	if n := app.CountRows("api_tokens"); n != 0 {
		t.Fatalf("a refused token was stored")
	}

	// Created: shown once, on this response, not via a redirect.
	res, body = c.PostForm("/admin/settings", "/admin/tokens", url.Values{"token_name": {"website"}})
	token := tokenRE.FindString(body)
	if res.StatusCode != http.StatusCreated || token == "" || strings.Count(body, token) != 1 || !strings.Contains(body, "won't be shown again") ||
		res.Header.Get("Location") != "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create token: status %d location %q\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}

	// The database holds only its hash: the plaintext is in no column of any row.
	var rows []map[string]any
	if err := app.DB.NewSelect().Table("api_tokens").Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("api_tokens rows = %d", len(rows))
	}
	for col, v := range rows[0] {
		if s := fmt.Sprintf("%s", v); strings.Contains(s, token) || strings.Contains(s, strings.TrimPrefix(token, "dd_")) {
			t.Fatalf("column %s holds the plaintext token", col)
		}
	}
	if got := fmt.Sprintf("%s", rows[0]["token_hash"]); got != auth.HashToken(token) {
		t.Fatalf("token_hash = %q, want the SHA-256 of the token", got)
	}

	// Reloading the page lists the token by its hint, never the token itself.
	_, body = c.Get("/admin/settings")
	if strings.Contains(body, token) || !strings.Contains(body, "dd_…"+token[len(token)-4:]) || !strings.Contains(body, "website") ||
		!strings.Contains(body, "never") {
		t.Fatalf("settings after create:\n%s", body)
	}

	// The token works against the API, and its use shows up.
	a := newAPI(t, app, token)
	if res := a.do(http.MethodGet, "/api/v1/links", ""); res.Status != http.StatusOK {
		t.Fatalf("API with the new token: %d\n%s", res.Status, res.Body)
	}
	_, body = c.Get("/admin/settings")
	if strings.Contains(body, "never") || strings.Count(body, "21 Nov 2026, 12:00 UTC") != 2 {
		t.Fatalf("last use not shown:\n%s", body)
	}

	// Deleting it asks first (a second button), then revokes it at once.
	ts, err := store.APITokens(ctx, app.DB, o.Workspace.ID)
	if err != nil || len(ts) != 1 {
		t.Fatalf("tokens: %v %v", ts, err)
	}
	del := fmt.Sprintf("/admin/tokens/%d/delete", ts[0].ID)
	if !strings.Contains(body, `action="`+del+`"`) || !strings.Contains(body, "<details>") {
		t.Fatalf("no confirmed delete form:\n%s", body)
	}
	res, _ = c.PostForm("/admin/settings", del, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/settings?token_deleted=1" {
		t.Fatalf("delete: status %d location %q", res.StatusCode, res.Header.Get("Location"))
	}
	a.do(http.MethodGet, "/api/v1/links", "").wantError(t, http.StatusUnauthorized, "unauthorized", "")
	if _, body = c.Get("/admin/settings?token_deleted=1"); !strings.Contains(body, `data-testid="token-deleted"`) {
		t.Fatalf("no confirmation after delete:\n%s", body)
	}
	// Deleting again is a 404.
	if res, _ = c.PostForm("/admin/settings", del, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("second delete: status %d", res.StatusCode)
	}
}

func TestSettingsOtherWorkspaceToken(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	other := app.CreateOwner("other@example.com", "Other label")
	theirToken := app.APIToken(other.Workspace.ID)
	ts, err := store.APITokens(context.Background(), app.DB, other.Workspace.ID)
	if err != nil || len(ts) != 1 {
		t.Fatalf("tokens: %v %v", ts, err)
	}
	c := app.NewClient()
	c.Login(o)
	for _, path := range []string{fmt.Sprintf("/admin/tokens/%d/delete", ts[0].ID), "/admin/tokens/abc/delete", "/admin/tokens/0/delete"} {
		if res, _ := c.PostForm("/admin/settings", path, nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("POST %s: status %d, want 404", path, res.StatusCode)
		}
	}
	if res := newAPI(t, app, theirToken).do(http.MethodGet, "/api/v1/links", ""); res.Status != http.StatusOK {
		t.Fatalf("the other workspace's token stopped working: %d", res.Status)
	}
	// Their tokens are not listed either.
	if _, body := c.Get("/admin/settings"); !strings.Contains(body, `data-testid="no-tokens"`) {
		t.Fatalf("another workspace's tokens are listed:\n%s", body)
	}
}

func TestSettingsMemberIsReadOnly(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	ownerToken := app.APIToken(o.Workspace.ID)
	ctx := context.Background()
	pw := "member password 123"
	hash, err := auth.NewHasher(bcrypt.MinCost).Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	u := &models.User{Email: "member@example.com", Name: "Member", PasswordHash: hash, CreatedAt: app.Clock.Now()}
	if err := store.CreateUser(ctx, app.DB, u); err != nil {
		t.Fatal(err)
	}
	if err := store.AddMember(ctx, app.DB, &models.Member{WorkspaceID: o.Workspace.ID, UserID: u.ID, Role: models.RoleMember, CreatedAt: app.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	c := app.NewClient()
	c.Login(testapp.Owner{Email: u.Email, Password: pw, User: u, Workspace: o.Workspace})

	res, body := c.Get("/admin/settings")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="read-only"`) ||
		strings.Contains(body, `action="/admin/tokens"`) || strings.Contains(body, `action="/admin/settings"`) ||
		strings.Contains(body, "/delete") || !strings.Contains(body, `data-testid="token-row"`) {
		t.Fatalf("member's settings page: status %d\n%s", res.StatusCode, body)
	}
	ts, _ := store.APITokens(ctx, app.DB, o.Workspace.ID)
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/admin/tokens", url.Values{"token_name": {"mine"}}},
		{fmt.Sprintf("/admin/tokens/%d/delete", ts[0].ID), nil},
		{"/admin/settings", url.Values{"name": {"Taken over"}}},
	} {
		if res, _ := c.PostForm("/admin/settings", tc.path, tc.form); res.StatusCode != http.StatusForbidden {
			t.Fatalf("member POST %s: status %d, want 403", tc.path, res.StatusCode)
		}
	}
	if n := app.CountRows("api_tokens"); n != 1 {
		t.Fatalf("api_tokens = %d, want 1", n)
	}
	if res := newAPI(t, app, ownerToken).do(http.MethodGet, "/api/v1/links", ""); res.Status != http.StatusOK {
		t.Fatalf("the owner's token stopped working: %d", res.Status)
	}
	if w, _ := store.WorkspaceByID(ctx, app.DB, o.Workspace.ID); w.Name != "Mara Lune" {
		t.Fatalf("a member renamed the workspace to %q", w.Name)
	}
}

func TestSettingsRename(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Mara Lune")
	c := app.NewClient()
	c.Login(o)
	ctx := context.Background()
	for _, name := range []string{"", "   ", strings.Repeat("x", 101), "two\nlines"} {
		res, body := c.PostForm("/admin/settings", "/admin/settings", url.Values{"name": {name}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="name-error"`) ||
			!strings.Contains(body, `aria-invalid="true"`) {
			t.Fatalf("rename to %q: status %d\n%s", name, res.StatusCode, body)
		}
		if w, _ := store.WorkspaceByID(ctx, app.DB, o.Workspace.ID); w.Name != "Mara Lune" {
			t.Fatalf("refused rename changed the name to %q", w.Name)
		}
	}
	res, _ := c.PostForm("/admin/settings", "/admin/settings", url.Values{"name": {"  Mara Lune Music  "}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/settings?renamed=1" {
		t.Fatalf("rename: status %d location %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body := c.Get("/admin/settings?renamed=1")
	if !strings.Contains(body, `data-testid="renamed"`) || !strings.Contains(body, `data-testid="workspace-current-name">Mara Lune Music<`) {
		t.Fatalf("after rename:\n%s", body)
	}
}
