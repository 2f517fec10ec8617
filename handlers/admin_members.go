package handlers

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/accounts"
	"github.com/dropday/dropday/internal/audit"
	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/views/admin"
)

func (s *Server) membersPage(c echo.Context, p admin.MembersPage) (admin.MembersPage, error) {
	ctx := c.Request().Context()
	wid := adminOf(c).workspaceID()
	ms, err := store.Members(ctx, s.DB, wid)
	if err != nil {
		return p, err
	}
	ins, err := store.PendingInvites(ctx, s.DB, wid, s.Now())
	if err != nil {
		return p, err
	}
	p.Layout, p.Members, p.Invites = layoutFor(c, "members"), ms, ins
	return p, nil
}

func (s *Server) memberList(c echo.Context) error {
	p, err := s.membersPage(c, admin.MembersPage{})
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.Members(p))
}

func (s *Server) memberAdd(c echo.Context) error {
	a := adminOf(c)
	email, role := c.FormValue("email"), c.FormValue("role")
	res, errs, err := accounts.AddMember(c.Request().Context(), s.DB, a.workspaceID(), a.user.ID, email, role, s.Now())
	if err != nil {
		return err
	}
	status := http.StatusOK
	form := admin.MembersPage{Email: email, Role: role, Errors: errs}
	switch {
	case errs.Has():
		status = http.StatusUnprocessableEntity
	case res.Added != nil:
		form = admin.MembersPage{Added: res.Added.Email}
		// accounts.AddMember commits on its own; the entry follows right after.
		if err := s.record(c.Request().Context(), c, s.DB, a.workspaceID(), audit.MemberAdd, res.Added.Email, audit.Detail("role", role)); err != nil {
			return err
		}
	default:
		status = http.StatusCreated
		form = admin.MembersPage{InviteURL: s.Config.URL("/invite/" + res.InviteToken), InviteEmail: res.Invite.Email}
		if err := s.record(c.Request().Context(), c, s.DB, a.workspaceID(), audit.MemberInvite, res.Invite.Email, audit.Detail("role", res.Invite.Role)); err != nil {
			return err
		}
		// The invitation exists whatever happens to the email: a failed send
		// only means the owner passes the link on, as the page offers anyway.
		err := s.AccountMail.SendInvite(c.Request().Context(), a.member.Workspace, a.user, res.Invite, res.InviteToken)
		if err != nil {
			loggerOf(c, s.Log).Warn("invitation email failed", "err", err, "invite_id", res.Invite.ID)
			form.InviteSendError = inviteSendProblem(err)
		} else {
			form.InviteSent = true
		}
	}
	p, err := s.membersPage(c, form)
	if err != nil {
		return err
	}
	return render(c, status, admin.Members(p))
}

func (s *Server) memberRemove(c echo.Context) error {
	uid, err := strconv.ParseInt(c.Param("user"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	wid := adminOf(c).workspaceID()
	err = s.DB.RunInTx(c.Request().Context(), &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		removed, err := store.UserByID(ctx, tx, uid)
		if err != nil {
			return err
		}
		if err := store.RemoveMember(ctx, tx, wid, uid); err != nil {
			return err
		}
		return s.record(ctx, c, tx, wid, audit.MemberRemove, removed.Email, audit.Detail("user_id", uid))
	})
	if errors.Is(err, store.ErrLastOwner) {
		p, perr := s.membersPage(c, admin.MembersPage{Notice: "A workspace needs at least one owner: make someone else an owner first."})
		if perr != nil {
			return perr
		}
		return render(c, http.StatusConflict, admin.Members(p))
	}
	if err != nil {
		return err
	}
	loggerOf(c, s.Log).Info("member removed", "removed_user_id", uid)
	return redirect(c, "/admin/members")
}

func (s *Server) inviteDelete(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	if err := store.DeleteInvite(c.Request().Context(), s.DB, adminOf(c).workspaceID(), id); err != nil {
		return err
	}
	return redirect(c, "/admin/members")
}

func (s *Server) workspaceCreate(c echo.Context) error {
	a := adminOf(c)
	w, errs, err := accounts.CreateWorkspace(c.Request().Context(), s.DB, a.user.ID, c.FormValue("name"), s.Now())
	if err != nil {
		return err
	}
	if errs.Has() {
		return errs
	}
	if err := store.SwitchSessionWorkspace(c.Request().Context(), s.DB, a.session.ID, w.ID); err != nil {
		return err
	}
	return redirect(c, "/admin/links")
}

// workspaceSwitch moves the session to another of the user's workspaces; one
// they do not belong to is a 404, like every other cross-workspace id.
func (s *Server) workspaceSwitch(c echo.Context) error {
	a := adminOf(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	ctx := c.Request().Context()
	if _, err := store.Membership(ctx, s.DB, id, a.user.ID); err != nil {
		return err
	}
	if err := store.SwitchSessionWorkspace(ctx, s.DB, a.session.ID, id); err != nil {
		return err
	}
	return redirect(c, "/admin/links")
}

// inviteSendProblem says in a few words why an invitation email failed.
func inviteSendProblem(err error) string {
	switch mail.KindOf(err) {
	case mail.RateLimited:
		return "the mail provider asked to slow down"
	case mail.Auth:
		return "the mail provider refused dropday's API key"
	case mail.Permanent:
		return "the mail provider refused it"
	}
	return "the mail provider could not be reached"
}
