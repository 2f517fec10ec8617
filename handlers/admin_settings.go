package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/apitokens"
	"github.com/dropday/dropday/internal/audit"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/admin"
)

const maxWorkspaceName = 100

// settingsPage shows the workspace and its API tokens; members see it read-only.
func (s *Server) settingsPage(c echo.Context) error {
	p, err := s.settingsData(c)
	if err != nil {
		return err
	}
	p.Renamed = c.QueryParam("renamed") == "1"
	p.Privacy.Saved = c.QueryParam("privacy") == "saved"
	p.TokenDeleted = c.QueryParam("token_deleted") == "1"
	return render(c, http.StatusOK, admin.Settings(p))
}

// settingsData is what every rendering of the settings page starts from.
func (s *Server) settingsData(c echo.Context) (admin.SettingsPage, error) {
	a := adminOf(c)
	tokens, err := store.APITokens(c.Request().Context(), s.DB, a.workspaceID())
	if err != nil {
		return admin.SettingsPage{}, err
	}
	pv, err := store.PrivacyOf(c.Request().Context(), s.DB, a.workspaceID())
	if err != nil {
		return admin.SettingsPage{}, err
	}
	form := admin.PrivacyForm{Controller: pv.ControllerName, Contact: pv.ContactEmail,
		CoarsenDays: strconv.Itoa(pv.CoarsenAfterDays), PurgeDays: strconv.Itoa(pv.PurgeAfterDays)}
	if links, err := store.LinkChoices(c.Request().Context(), s.DB, a.workspaceID(), 1); err == nil && len(links) > 0 {
		form.PageURL = "/privacy/" + links[0].Slug
	}
	return admin.SettingsPage{Layout: layoutFor(c, "settings"), Name: a.member.Workspace.Name,
		Tokens: tokens, APIBase: s.Config.URL("/api/v1"), Privacy: form}, nil
}

// privacySettingsUpdate saves the privacy page's facts and the retention
// rules (owners only, by the route table), with its audit entry in the same
// transaction. Bad input changes nothing and says why.
func (s *Server) privacySettingsUpdate(c echo.Context) error {
	f := admin.PrivacyForm{Controller: strings.TrimSpace(c.FormValue("controller_name")),
		Contact: strings.TrimSpace(c.FormValue("contact_email")), CoarsenDays: strings.TrimSpace(c.FormValue("coarsen_after_days")),
		PurgeDays: strings.TrimSpace(c.FormValue("purge_after_days")), Errors: map[string]string{}}
	wid := adminOf(c).workspaceID()
	ps := &models.PrivacySettings{WorkspaceID: wid, ControllerName: f.Controller, UpdatedAt: s.Now().UTC()}
	switch {
	case utf8.RuneCountInString(f.Controller) > 200:
		f.Errors["controller_name"] = "Keep the name under 200 characters."
	case strings.ContainsFunc(f.Controller, unicode.IsControl):
		f.Errors["controller_name"] = "Remove the line breaks and control characters."
	}
	if f.Contact != "" {
		e, msg := validate.Email(f.Contact)
		if msg != "" {
			f.Errors["contact_email"] = msg
		}
		ps.ContactEmail = e
	}
	var err error
	if ps.CoarsenAfterDays, err = strconv.Atoi(f.CoarsenDays); err != nil || ps.CoarsenAfterDays < 1 || ps.CoarsenAfterDays > 3650 {
		f.Errors["coarsen_after_days"] = "Enter a number of days from 1 to 3650."
	}
	if ps.PurgeAfterDays, err = strconv.Atoi(f.PurgeDays); err != nil || ps.PurgeAfterDays < 0 || ps.PurgeAfterDays > 3650 {
		f.Errors["purge_after_days"] = "Enter a number of days from 0 (keep) to 3650."
	}
	if len(f.Errors) > 0 {
		p, err := s.settingsData(c)
		if err != nil {
			return err
		}
		f.PageURL = p.Privacy.PageURL
		p.Privacy = f
		return render(c, http.StatusUnprocessableEntity, admin.Settings(p))
	}
	err = s.DB.RunInTx(c.Request().Context(), nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.SavePrivacy(ctx, tx, ps); err != nil {
			return err
		}
		return s.record(ctx, c, tx, wid, audit.PrivacySettings, "workspace", audit.Detail("controller", ps.ControllerName,
			"contact", ps.ContactEmail, "coarsen_after_days", ps.CoarsenAfterDays, "purge_archived_after_days", ps.PurgeAfterDays))
	})
	if err != nil {
		return err
	}
	return redirect(c, "/admin/settings?privacy=saved#privacy")
}

// settingsUpdate renames the workspace (owners only, by the route table).
func (s *Server) settingsUpdate(c echo.Context) error {
	name := strings.TrimSpace(c.FormValue("name"))
	if msg := checkWorkspaceName(name); msg != "" {
		p, err := s.settingsData(c)
		if err != nil {
			return err
		}
		p.Name, p.NameError = name, msg
		return render(c, http.StatusUnprocessableEntity, admin.Settings(p))
	}
	if err := store.RenameWorkspace(c.Request().Context(), s.DB, adminOf(c).workspaceID(), name); err != nil {
		return err
	}
	loggerOf(c, s.Log).Info("workspace renamed")
	// Redirect so the shell (sidebar, switcher) is drawn with the new name.
	return redirect(c, "/admin/settings?renamed=1")
}

func checkWorkspaceName(name string) string {
	switch {
	case name == "":
		return "Name the workspace, for example after the artist or label."
	case utf8.RuneCountInString(name) > maxWorkspaceName:
		return "Keep the name under 100 characters."
	case strings.ContainsFunc(name, unicode.IsControl):
		return "Remove the line breaks and control characters."
	}
	return ""
}

// tokenCreate issues an API token and shows it on this response only: the
// page is rendered directly (201) rather than redirected to, so the token
// never sits in a URL, a history entry or a log line.
func (s *Server) tokenCreate(c echo.Context) error {
	a := adminOf(c)
	name := c.FormValue("token_name")
	token, t, msg, err := apitokens.Create(c.Request().Context(), s.DB, a.workspaceID(), name, &a.user.ID, s.Now())
	if err != nil {
		return err
	}
	p, err := s.settingsData(c)
	if err != nil {
		return err
	}
	if msg != "" {
		p.TokenName, p.TokenNameError = name, msg
		return render(c, http.StatusUnprocessableEntity, admin.Settings(p))
	}
	loggerOf(c, s.Log).Info("api token created", "api_token_id", t.ID)
	p.NewToken, p.NewTokenName = token, t.Name
	return render(c, http.StatusCreated, admin.Settings(p))
}

// tokenDelete revokes a token at once; another workspace's token is a 404.
func (s *Server) tokenDelete(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	err = store.DeleteAPIToken(c.Request().Context(), s.DB, adminOf(c).workspaceID(), id)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "This API token does not exist any more, or it belongs to another workspace.")
	}
	if err != nil {
		return err
	}
	loggerOf(c, s.Log).Info("api token deleted", "api_token_id", id)
	return redirect(c, "/admin/settings?token_deleted=1")
}
