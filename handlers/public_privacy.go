package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/audit"
	"github.com/dropday/dropday/internal/fans"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/public"
)

// privacyPage is the workspace's privacy page, named by one of its release
// pages (drafts answer 404 as on /:slug), with the form that emails a fan
// a link to their data. It is the same for every visitor.
func (s *Server) privacyPage(c echo.Context) error {
	l, err := s.publicLink(c)
	if err != nil {
		return err
	}
	v, err := s.privacyView(c, l)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, public.PrivacyPage(v))
}

func (s *Server) privacyView(c echo.Context, l *models.Link) (public.Privacy, error) {
	ctx := c.Request().Context()
	ws, err := store.WorkspaceByID(ctx, s.DB, l.WorkspaceID)
	if err != nil {
		return public.Privacy{}, err
	}
	p, err := store.PrivacyOf(ctx, s.DB, l.WorkspaceID)
	if err != nil {
		return public.Privacy{}, err
	}
	v := public.Privacy{Landing: s.landingView(l, s.Now()), Workspace: ws.Name, Controller: p.ControllerName,
		Contact: p.ContactEmail, CoarsenDays: p.CoarsenAfterDays, PurgeDays: p.PurgeAfterDays,
		EmailDriver: s.Config.Mail.Driver}
	for _, d := range v.Direct {
		v.DirectNames = append(v.DirectNames, d.Name)
	}
	return v, nil
}

// privacyEmail emails a link to the fan's data when the address is known in
// the workspace. Every well-formed address gets the same answer at once; the
// look-up and the email happen in the background (no enumeration).
func (s *Server) privacyEmail(c echo.Context) error {
	privatePage(c)
	l, err := s.publicLink(c)
	if err != nil {
		return err
	}
	v, err := s.privacyView(c, l)
	if err != nil {
		return err
	}
	v.Email = c.FormValue("email")
	if !s.signupLimit.Allow(c.RealIP()) {
		c.Response().Header().Set("Retry-After", "60")
		v.EmailError = "Too many requests from your connection. Please wait a minute, then try again."
		return render(c, http.StatusTooManyRequests, public.PrivacyPage(v))
	}
	addr, msg := validate.Email(v.Email)
	if msg != "" {
		v.EmailError = msg
		return render(c, http.StatusUnprocessableEntity, public.PrivacyPage(v))
	}
	s.Fans.RequestAccess(l, addr)
	v.Sent, v.Email = addr, ""
	return render(c, http.StatusOK, public.PrivacyPage(v))
}

// privacyVerifyPage is the emailed link: it only shows a button, because
// mail scanners open links and the link works once.
func (s *Server) privacyVerifyPage(c echo.Context) error {
	privatePage(c)
	l, err := s.publicLink(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, public.FanVerifyPage(public.FanVerify{Landing: s.landingView(l, s.Now()), Token: c.Param("token")}))
}

// privacyVerify spends the emailed link and opens the fan's data page for an hour.
func (s *Server) privacyVerify(c echo.Context) error {
	privatePage(c)
	l, err := s.publicLink(c)
	if err != nil {
		return err
	}
	session, wid, err := s.Fans.OpenSession(c.Request().Context(), c.Param("token"))
	if err != nil || wid != l.WorkspaceID {
		return noFanProof(err)
	}
	return c.Redirect(http.StatusSeeOther, "/privacy/"+l.Slug+"/data/"+fans.ProofSession+"."+session)
}

// fanIdentity resolves the data page's proof within the slug's workspace.
func (s *Server) fanIdentity(c echo.Context) (*models.Link, fans.Identity, error) {
	privatePage(c)
	l, err := s.publicLink(c)
	if err != nil {
		return nil, fans.Identity{}, err
	}
	id, err := fans.Resolve(c.Request().Context(), s.DB, c.Param("proof"), s.Now())
	if err != nil || id.WorkspaceID != l.WorkspaceID {
		return nil, fans.Identity{}, noFanProof(err)
	}
	return l, id, nil
}

// fanData shows the fan what dropday holds about them in this workspace.
func (s *Server) fanData(c echo.Context) error {
	l, id, err := s.fanIdentity(c)
	if err != nil {
		return err
	}
	d, err := fans.Collect(c.Request().Context(), s.DB, id)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, public.FanDataPage(public.FanData{Landing: s.landingView(l, s.Now()),
		Workspace: d.Workspace.Name, Proof: c.Param("proof"), Emails: d.Identity.Emails, Items: fanItems(d), Empty: d.Empty()}))
}

// fanDataExport downloads the same data as JSON, and logs the export.
func (s *Server) fanDataExport(c echo.Context) error {
	_, id, err := s.fanIdentity(c)
	if err != nil {
		return err
	}
	d, err := s.Fans.Export(c.Request().Context(), id, audit.Fan(c.RealIP(), c.Request().UserAgent()))
	if err != nil {
		return err
	}
	return sendFanJSON(c, d, s.Now())
}

// fanErase erases the fan's data in this workspace (same-origin POST).
func (s *Server) fanErase(c echo.Context) error {
	l, id, err := s.fanIdentity(c)
	if err != nil {
		return err
	}
	res, err := s.Fans.Erase(c.Request().Context(), id, audit.Fan(c.RealIP(), c.Request().UserAgent()))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, public.FanDataPage(public.FanData{Landing: s.landingView(l, s.Now()),
		Workspace: res.Workspace.Name, Emails: res.Emails, Erased: true, ErasedRows: res.Total()}))
}

// sendFanJSON answers the data as a JSON download.
func sendFanJSON(c echo.Context, d *fans.Data, now time.Time) error {
	b, err := json.MarshalIndent(d.Export(now), "", "  ")
	if err != nil {
		return fmt.Errorf("fan export: %w", err)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="dropday-my-data-%s.json"`, now.UTC().Format("2006-01-02")))
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/json; charset=utf-8", b)
}

func noFanProof(err error) error {
	if err == nil || errors.Is(err, fans.ErrNoProof) || errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "This link to your data is not valid any more: links from the email work once, for 30 minutes. Ask for a new one on the privacy page.")
	}
	return err
}

// fanItems lays a fan's data out as headed lists of facts, for the fan's
// page and the admin's Fans page alike. Times are UTC: a fan's own zone is unknown.
func fanItems(d *fans.Data) []public.FanItem {
	var out []public.FanItem
	linkName := func(id int64) string {
		if l := d.LinkOf(id); l != nil {
			return l.Artist + " – " + l.Title
		}
		return "a release page"
	}
	for _, p := range d.Presaves {
		facts := []public.Fact{
			{Label: "Platform", Value: platformName(p.Platform)},
			{Label: "Account", Value: strings.TrimSpace(p.DisplayName + " (" + p.PlatformUserID + ")")},
			{Label: "State", Value: presaveStateWords(p.State)},
			{Label: "Agreed", Value: fanTime(p.ConsentedAt)},
			{Label: "Words you agreed to", Value: consentWords(d, p.ConsentTextID, p.ConsentVersion)},
			{Label: "Network", Value: orNone(p.IP)},
			{Label: "Browser", Value: orNone(p.UserAgent)},
			{Label: "Email", Value: orNone(p.Email)},
		}
		if p.Storefront != "" {
			facts = append(facts, public.Fact{Label: "Country catalog", Value: strings.ToUpper(p.Storefront)})
		}
		facts = append(facts, []public.Fact{
			{Label: "Access to your account", Value: map[bool]string{true: "held, sealed, until release day", false: "none (deleted)"}[d.Credentials[p.ID]]},
		}...)
		out = append(out, public.FanItem{Kind: "Pre-save", Heading: linkName(p.LinkID), Facts: facts})
	}
	emails := map[int64]string{}
	for _, sub := range d.Subscribers {
		emails[sub.ID] = sub.Email
		st := sub.Status
		if r := d.Suppressed[sub.Email]; r != "" {
			st += " (mail " + r + " on record)"
		}
		out = append(out, public.FanItem{Kind: "Subscription", Heading: sub.Email, Facts: []public.Fact{
			{Label: "Status", Value: st},
			{Label: "Listens on", Value: platformName(sub.Platform)},
			{Label: "Since", Value: fanTime(sub.CreatedAt)},
		}})
	}
	for _, g := range d.Signups {
		out = append(out, public.FanItem{Kind: "Email signup", Heading: linkName(g.LinkID), Facts: []public.Fact{
			{Label: "Email", Value: emails[g.SubscriberID]},
			{Label: "Agreed", Value: fanTime(g.ConsentedAt)},
			{Label: "Words you agreed to", Value: consentWords(d, g.ConsentTextID, g.ConsentVersion)},
			{Label: "Network", Value: orNone(g.IP)},
			{Label: "Browser", Value: orNone(g.UserAgent)},
		}})
	}
	for _, r := range d.Recipients {
		sent := "not yet"
		if r.SentAt != nil {
			sent = fanTime(*r.SentAt)
		}
		out = append(out, public.FanItem{Kind: "Email sent", Heading: r.Subject, Facts: []public.Fact{
			{Label: "Release", Value: linkName(r.LinkID)},
			{Label: "To", Value: r.Email},
			{Label: "Sent", Value: sent},
			{Label: "State", Value: r.State},
		}})
	}
	return out
}

func consentWords(d *fans.Data, id *int64, version string) string {
	if t := d.ConsentText(id); t != "" {
		return "“" + t + "”"
	}
	return version
}

func fanTime(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04") + " UTC" }

func orNone(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// presaveStateWords says a pre-save's state as a fan reads it.
func presaveStateWords(state string) string {
	switch state {
	case models.PresavePending:
		return "waiting for release day"
	case models.PresaveDelivered:
		return "saved to your library"
	case models.PresaveFailed:
		return "could not be saved"
	case models.PresaveRevoked:
		return "cancelled"
	}
	return state
}
