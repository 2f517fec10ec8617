// Package audit writes the workspace audit log: who did what, when and from
// where. Entries are written in the transaction of the action they record
// where there is one, and never changed afterwards (the store offers only
// insert and list).
package audit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// Actions, grouped by prefix so the log can be filtered by area.
const (
	FanExport         = "fan.export"
	FanErase          = "fan.erase"
	SubscribersExport = "subscribers.export"
	DeliverNow        = "link.deliver_now"
	KeysRotate        = "keys.rotate"
	MemberAdd         = "member.add"
	MemberInvite      = "member.invite"
	MemberRemove      = "member.remove"
	MemberRole        = "member.role"
	PrivacySettings   = "settings.privacy"
)

// Actions lists the actions in the order the log's filter offers them.
var Actions = []string{FanExport, FanErase, SubscribersExport, DeliverNow, KeysRotate,
	MemberAdd, MemberInvite, MemberRemove, MemberRole, PrivacySettings}

// Actor is who acts, and from where.
type Actor struct {
	Kind   string // models.ActorUser, ActorAPI, ActorCLI, ActorFan
	UserID *int64
	// Name is how a person reads the actor: an email, "cli", "fan", "API token “site”".
	Name          string
	IP, UserAgent string
}

// CLI is the operator on the server's command line.
var CLI = Actor{Kind: models.ActorCLI, Name: "cli"}

// Fan is a fan acting on their own data, from a request.
func Fan(ip, ua string) Actor {
	return Actor{Kind: models.ActorFan, Name: "fan", IP: ip, UserAgent: ua}
}

// User is a signed-in admin, from a request.
func User(id int64, email, ip, ua string) Actor {
	return Actor{Kind: models.ActorUser, UserID: &id, Name: email, IP: ip, UserAgent: ua}
}

// maxUA keeps a hostile User-Agent from bloating the log.
const maxUA = 300

// Record writes one entry. workspaceID 0 is an instance-wide action.
func Record(ctx context.Context, db bun.IDB, a Actor, workspaceID int64, action, target, detail string, now time.Time) error {
	e := &models.AuditEntry{ActorKind: a.Kind, ActorUserID: a.UserID, Actor: a.Name, Action: action,
		Target: target, Detail: detail, IP: a.IP, UserAgent: cut(a.UserAgent, maxUA), CreatedAt: now}
	if workspaceID != 0 {
		e.WorkspaceID = &workspaceID
	}
	if e.Actor == "" {
		e.Actor = e.ActorKind
	}
	if err := store.Audit(ctx, db, e); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// Detail formats key=value pairs for an entry's detail, skipping empty values.
func Detail(kv ...any) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		v := fmt.Sprint(kv[i+1])
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%v=%s", kv[i], v)
	}
	return b.String()
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
