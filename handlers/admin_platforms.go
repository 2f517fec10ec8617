package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/resolve"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/admin"
)

// lookupPlatforms are the platforms whose catalogs dropday can search by
// ISRC/UPC (when the operator configured them); the others take pasted URLs.
var lookupPlatforms = map[string]bool{"spotify": true, "apple_music": true, "deezer": true, "tidal": true}

// linkPlatforms is the link's Platforms tab.
func (s *Server) linkPlatforms(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	notice := ""
	switch c.QueryParam("done") {
	case "saved":
		notice = "Addresses saved. The smart link shows them on its next load."
	case "checked":
		notice = "Looked up on every configured platform just now."
	}
	d, err := s.platformsPage(c, l, nil, nil, notice)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.PlatformsPageView(d))
}

// linkPlatformsSave stores the artist's addresses: all of them or, when one
// is not on its platform's own site, none. dropday never requests them.
func (s *Server) linkPlatformsSave(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	inputs := map[string]string{}
	clean := map[string]string{}
	var errs validate.Errors
	for _, p := range models.Platforms {
		if _, ok := validate.PlatformHosts[p.Key]; !ok {
			continue
		}
		raw := c.FormValue("url_" + p.Key)
		inputs[p.Key] = raw
		u, msg := validate.PlatformURL(p.Key, raw)
		if msg != "" {
			errs.Add("url_"+p.Key, msg)
			continue
		}
		clean[p.Key] = u
	}
	if errs.Has() {
		d, err := s.platformsPage(c, l, inputs, errs, "")
		if err != nil {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, admin.PlatformsPageView(d))
	}
	rows, err := store.LinkPlatforms(ctx, s.DB, l.ID)
	if err != nil {
		return err
	}
	current := map[string]string{}
	for _, r := range rows {
		current[r.Platform] = r.ManualURL
	}
	err = s.DB.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		for key, u := range clean {
			if current[key] == u {
				continue
			}
			if err := store.SetManualURL(ctx, tx, l.ID, key, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/links/%d/platforms?done=saved", l.ID))
}

// linkPlatformsCheck looks the release up on every configured catalog now.
func (s *Server) linkPlatformsCheck(c echo.Context) error {
	l, err := s.linkParam(c)
	if err != nil {
		return err
	}
	if _, err := s.Release.Resolver.Check(c.Request().Context(), l, true); err != nil {
		return err
	}
	loggerOf(c, s.Log).Info("release looked up now", "link_id", l.ID)
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/links/%d/platforms?done=checked", l.ID))
}

func (s *Server) platformsPage(c echo.Context, l *models.Link, inputs map[string]string, errs validate.Errors, notice string) (admin.PlatformsPage, error) {
	rows, err := store.LinkPlatforms(c.Request().Context(), s.DB, l.ID)
	if err != nil {
		return admin.PlatformsPage{}, err
	}
	res := s.Release.Resolver
	now := s.Now()
	by := map[string]*models.LinkPlatform{}
	for i := range rows {
		by[rows[i].Platform] = &rows[i]
	}
	d := admin.PlatformsPage{Layout: layoutFor(c, "links"), Link: l, Errors: errs, Notice: notice,
		NoSource: l.SourceKind == models.SourceNone, Window: resolve.HumanDuration(res.Window), Interval: resolve.HumanDuration(res.Interval)}
	released := l.State == models.LinkReleased
	if released && res.Looking(l, now) {
		d.Looking, d.NextCheck = true, res.NextCheck(l, now)
	}
	if released && !d.NoSource && !res.Looking(l, now) {
		for _, lp := range res.Missing(rows) {
			if _, noLookup := res.FromURL[lp.Platform]; noLookup {
				d.MissingAddress = append(d.MissingAddress, platformName(lp.Platform))
			} else {
				d.Missing = append(d.Missing, platformName(lp.Platform))
			}
		}
	}
	if d.YouTubeDirect = s.Presave.Enabled(youtubeKey); d.YouTubeDirect {
		d.YouTubeVideo = s.youtubeVideo(rows)
		if d.YouTubeQuotaUntil, err = s.youtubeQuotaUntil(c.Request().Context()); err != nil {
			return admin.PlatformsPage{}, err
		}
	}
	for _, p := range models.Platforms {
		if _, ok := validate.PlatformHosts[p.Key]; !ok {
			continue
		}
		_, configured := res.Catalogs[p.Key]
		r := admin.PlatformRow{Platform: p, Lookup: lookupPlatforms[p.Key], Configured: configured, Row: by[p.Key]}
		if inputs != nil {
			r.Input = inputs[p.Key]
		} else if r.Row != nil {
			r.Input = r.Row.ManualURL
		}
		d.Rows = append(d.Rows, r)
	}
	return d, nil
}
