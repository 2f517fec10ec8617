package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testapp"
	"github.com/dropday/dropday/models"
)

var inviteRE = regexp.MustCompile(`/invite/([A-Za-z0-9_-]+)`)

func TestMembersInviteAndRemove(t *testing.T) {
	app := testapp.New(t)
	o := app.CreateOwner("owner@example.com", "Label")
	c := app.NewClient()
	c.Login(o)

	// Bad input: clear message, nothing written.
	res, body := c.PostForm("/admin/members", "/admin/members", url.Values{"email": {"nope"}, "role": {"member"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="email-error"`) {
		t.Fatalf("bad email: status %d", res.StatusCode)
	}
	res, _ = c.PostForm("/admin/members", "/admin/members", url.Values{"email": {"a@example.com"}, "role": {"admin"}})
	if res.StatusCode != http.StatusUnprocessableEntity || app.CountRows("invites") != 0 {
		t.Fatalf("bad role: status %d, invites %d", res.StatusCode, app.CountRows("invites"))
	}

	// Someone without an account gets a one-time invitation link.
	res, body = c.PostForm("/admin/members", "/admin/members", url.Values{"email": {"New@Example.com"}, "role": {"member"}})
	m := inviteRE.FindStringSubmatch(body)
	if res.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("invite: status %d\n%s", res.StatusCode, body)
	}
	invitee := app.NewClient()
	res, body = invitee.Get("/invite/" + m[1])
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "new@example.com") || !strings.Contains(body, "Label") {
		t.Fatalf("invite page: status %d", res.StatusCode)
	}
	res, _ = invitee.PostForm("/invite/"+m[1], "/invite/"+m[1], url.Values{"name": {"Newbie"}, "password": {"short"}})
	if res.StatusCode != http.StatusUnprocessableEntity || app.CountRows("users") != 1 {
		t.Fatalf("weak password: status %d users %d", res.StatusCode, app.CountRows("users"))
	}
	res, _ = invitee.PostForm("/invite/"+m[1], "/invite/"+m[1], url.Values{"name": {"Newbie"}, "password": {"a long enough password"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept invite: status %d", res.StatusCode)
	}
	if res, _ := invitee.Get("/admin/members"); res.StatusCode != http.StatusOK {
		t.Fatalf("invitee not signed in: %d", res.StatusCode)
	}
	// The link works once.
	if res, _ := app.NewClient().Get("/invite/" + m[1]); res.StatusCode != http.StatusNotFound {
		t.Fatalf("second use of invite: status %d, want 404", res.StatusCode)
	}
	newUser, err := store.UserByEmail(context.Background(), app.DB, "new@example.com")
	if err != nil {
		t.Fatal(err)
	}

	// A member cannot manage members.
	res, _ = invitee.PostForm("/admin/members", "/admin/members", url.Values{"email": {"x@example.com"}, "role": {"owner"}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("member adds member: status %d, want 403", res.StatusCode)
	}
	res, _ = invitee.PostForm("/admin/members", fmt.Sprintf("/admin/members/%d/remove", o.User.ID), nil)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("member removes owner: status %d, want 403", res.StatusCode)
	}

	// The last owner cannot be removed.
	res, body = c.PostForm("/admin/members", fmt.Sprintf("/admin/members/%d/remove", o.User.ID), nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "at least one owner") {
		t.Fatalf("remove last owner: status %d", res.StatusCode)
	}
	// Removing the member ends their access at once.
	res, _ = c.PostForm("/admin/members", fmt.Sprintf("/admin/members/%d/remove", newUser.ID), nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove member: status %d", res.StatusCode)
	}
	if res, _ := invitee.Get("/admin/members"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("removed member still in: status %d", res.StatusCode)
	}

	// An existing account is added directly, without an invitation.
	other := app.CreateOwner("other@example.com", "Other label")
	res, body = c.PostForm("/admin/members", "/admin/members", url.Values{"email": {"other@example.com"}, "role": {"owner"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="added"`) {
		t.Fatalf("add existing: status %d", res.StatusCode)
	}
	res, body = c.PostForm("/admin/members", "/admin/members", url.Values{"email": {"other@example.com"}, "role": {"owner"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "member already") {
		t.Fatalf("add twice: status %d", res.StatusCode)
	}
	_ = other
}

func TestWorkspaceScoping(t *testing.T) {
	app := testapp.New(t)
	a := app.CreateOwner("a@example.com", "A")
	b := app.CreateOwner("b@example.com", "B")
	ca := app.NewClient()
	ca.Login(a)

	// Another workspace's member, invitation and workspace ids are 404.
	ctx := context.Background()
	in := &models.Invite{WorkspaceID: b.Workspace.ID, Email: "x@example.com", Role: "member", TokenHash: "h",
		InvitedBy: b.User.ID, CreatedAt: app.Clock.Now(), ExpiresAt: app.Clock.Now().Add(1e12)}
	if err := store.CreateInvite(ctx, app.DB, in); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		fmt.Sprintf("/admin/members/%d/remove", b.User.ID),
		fmt.Sprintf("/admin/invites/%d/delete", in.ID),
		fmt.Sprintf("/admin/workspaces/%d/switch", b.Workspace.ID),
		"/admin/workspaces/abc/switch",
	} {
		res, _ := ca.PostForm("/admin/members", path, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: status %d, want 404", path, res.StatusCode)
		}
	}
	if app.CountRows("invites") != 1 || app.CountRows("members") != 2 {
		t.Fatal("a cross-workspace request changed something")
	}

	// A new workspace becomes the current one; switching back works.
	res, _ := ca.PostForm("/admin/members", "/admin/workspaces", url.Values{"name": {"Side project"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create workspace: status %d", res.StatusCode)
	}
	_, body := ca.Get("/admin/members")
	if !strings.Contains(body, `data-testid="workspace-name">Side project<`) {
		t.Fatalf("not switched to the new workspace")
	}
	res, _ = ca.PostForm("/admin/members", fmt.Sprintf("/admin/workspaces/%d/switch", a.Workspace.ID), nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("switch back: status %d", res.StatusCode)
	}
	_, body = ca.Get("/admin/members")
	if !strings.Contains(body, `data-testid="workspace-name">A<`) {
		t.Fatalf("not switched back")
	}
	res, _ = ca.PostForm("/admin/members", "/admin/workspaces", url.Values{"name": {"  "}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("empty workspace name: status %d", res.StatusCode)
	}
}
