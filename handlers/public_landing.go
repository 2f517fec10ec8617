package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/dropday/dropday/internal/artwork"
	"github.com/dropday/dropday/internal/pagecache"
	"github.com/dropday/dropday/internal/signup"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/validate"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/static"
	"github.com/dropday/dropday/views/public"
)

// landing is the fan's page. Before release it is the same for every visitor
// (the countdown runs in the browser, the signup POST needs no token), so it
// is rendered once and served from memory (landingPage) with an ETag and a
// revalidating Cache-Control; views are still counted on every hit.
func (s *Server) landing(c echo.Context) error {
	p, err := s.landingPage(c.Request().Context(), c.Param("slug"))
	if err != nil {
		return err
	}
	if p.ETag != "" { // archived pages (410) carry none and count no view
		s.Analytics.View(c.Request(), p.Value.(*models.Link).ID, c.RealIP()) // in memory; flushed in batches
		h := c.Response().Header()
		h.Set("ETag", p.ETag)
		h.Set("Cache-Control", "public, max-age=0, must-revalidate")
		if etagMatches(c.Request().Header.Get("If-None-Match"), p.ETag) {
			return c.NoContent(http.StatusNotModified)
		}
	}
	return c.HTMLBlob(p.Status, p.Body)
}

// landingPage is slug's rendered page from the cache, rendered (one link
// look-up, and the platforms after release) when missing or expired. It
// expires after DROPDAY_PAGE_CACHE_TTL, or at the release time when that
// comes first, so the countdown turns into the smart link on time; edits on
// this instance clear the cache at once (forgetPages). Requests that arrive
// while another refills the page get the old copy (never past the release).
// A missing or draft slug is not cached: it asks the database every time.
func (s *Server) landingPage(ctx context.Context, slug string) (*pagecache.Page, error) {
	return s.pages.Get(ctx, slug, func(ctx context.Context) (*pagecache.Page, error) {
		now := s.Now() // before the read: the page is as old as its data
		l, err := s.linkBySlug(ctx, slug)
		if err != nil {
			return nil, err
		}
		p := &pagecache.Page{Value: l, Expires: now.Add(s.Config.PageCacheTTL)}
		v := s.landingView(l, now)
		// While one request refills an expired page, others get the old
		// copy for up to one more TTL, but a countdown never past the release.
		p.Until = p.Expires.Add(s.Config.PageCacheTTL)
		if !v.Released {
			if l.ReleaseAt.Before(p.Expires) {
				p.Expires = l.ReleaseAt
			}
			if l.ReleaseAt.Before(p.Until) {
				p.Until = l.ReleaseAt
			}
		}
		var comp templ.Component
		if l.State == models.LinkArchived {
			p.Status, comp = http.StatusGone, public.Ended(v)
		} else {
			if v.Released {
				// The smart link: a platform appears as soon as a check finds it.
				if v.Listen, err = s.listenButtons(ctx, l); err != nil {
					return nil, err
				}
			}
			p.Status, comp = http.StatusOK, public.LandingPage(v)
			p.ETag = landingETag(l, v.Released, s.Config.URL(""), s.directKeys()+"|"+listenKey(v.Listen))
		}
		var buf bytes.Buffer
		if err := comp.Render(ctx, &buf); err != nil {
			return nil, err
		}
		p.Body = buf.Bytes()
		return p, nil
	})
}

// forgetPages clears the page cache after every change request to the admin
// panel or the API, so this instance shows an edit at once (other instances
// within DROPDAY_PAGE_CACHE_TTL). Clearing everything keeps it
// simple and right for any change (a renamed slug, a workspace setting);
// changes are rare next to views.
func (s *Server) forgetPages(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			s.pages.Clear()
		}
		return err
	}
}

// listenButtons are the smart link's platforms: found by a look-up or given
// by the artist, in models.Platforms order, with Save where the platform
// saves directly and the release's items are known.
func (s *Server) listenButtons(ctx context.Context, l *models.Link) ([]public.ListenButton, error) {
	rows, err := store.LinkPlatforms(ctx, s.DB, l.ID)
	if err != nil {
		return nil, err
	}
	by := make(map[string]models.LinkPlatform, len(rows))
	for _, lp := range rows {
		by[lp.Platform] = lp
	}
	spotifySource := l.SourceKind == models.SourceSpotifyTrack || l.SourceKind == models.SourceSpotifyAlbum
	var out []public.ListenButton
	for _, p := range models.Platforms {
		lp, ok := by[p.Key]
		if !ok || lp.ListenURL() == "" {
			continue
		}
		found := lp.FoundAt != nil && len(lp.Items) > 0
		save := s.Presave.Enabled(p.Key) && (found || (p.Key == "spotify" && spotifySource) || s.savesFromURL(p.Key, lp.ManualURL))
		_, inPage := s.Presave.PageClient(p.Key)
		out = append(out, public.ListenButton{Key: p.Key, Name: p.Name, Icon: p.Icon, Save: save, InPage: save && inPage})
	}
	return out, nil
}

// savesFromURL tells whether a platform without a look-up (YouTube Music)
// can save from the address the artist gave.
func (s *Server) savesFromURL(key, manualURL string) bool {
	fu, ok := s.Presave.Clients[key].(interface{ ItemsFromURL(string) []string })
	return ok && manualURL != "" && len(fu.ItemsFromURL(manualURL)) > 0
}

// listenKey names the smart link's buttons for the ETag.
func listenKey(bs []public.ListenButton) string {
	var b strings.Builder
	for _, x := range bs {
		fmt.Fprintf(&b, "%s:%t,", x.Key, x.Save)
	}
	return b.String()
}

// signup takes a fan's email from the landing page. htmx gets the fragment
// to swap in place; a browser without JavaScript gets the whole page again.
func (s *Server) signup(c echo.Context) error {
	// The link comes with its cached page: no look-up per signup. The write
	// checks in its transaction that the link is still open, so one archived
	// on another instance takes no signup, even while this copy lives.
	p, err := s.landingPage(c.Request().Context(), c.Param("slug"))
	if err != nil {
		return err
	}
	l := p.Value.(*models.Link)
	if !signup.Open(l) {
		return noLanding()
	}
	now := s.Now()
	form := public.SignupForm{Platform: c.FormValue("platform"), Email: c.FormValue("email")}
	if !s.signupLimit.Allow(c.RealIP()) {
		c.Response().Header().Set("Retry-After", "60")
		form.Error = "Too many signups from your connection. Please wait a minute, then try again."
		return s.signupAnswer(c, l, now, http.StatusTooManyRequests, form)
	}
	res, err := s.signups.Signup(c.Request().Context(), l, signup.Input{
		Email: form.Email, Platform: form.Platform, Honeypot: c.FormValue("website"),
		IP: c.RealIP(), UserAgent: c.Request().UserAgent(),
		Erasure: s.Fans.Key, Reconsent: c.FormValue("reconsent") != "",
	}, now)
	var verrs validate.Errors
	switch {
	case errors.Is(err, signup.ErrClosed):
		form.Error = "Signups for this release have closed, so your email was not saved."
		return s.signupAnswer(c, l, now, http.StatusGone, form)
	case errors.Is(err, signup.ErrErased):
		form.Reconsent = true
		return s.signupAnswer(c, l, now, http.StatusUnprocessableEntity, form)
	case errors.As(err, &verrs):
		form.Errors = verrs
		return s.signupAnswer(c, l, now, http.StatusUnprocessableEntity, form)
	case err != nil:
		return err
	}
	if !res.Stored {
		loggerOf(c, s.Log).Info("signup: honeypot filled, nothing stored", "link", l.ID)
	}
	form.Done = res.Email
	return s.signupAnswer(c, l, now, http.StatusOK, form)
}

func (s *Server) signupAnswer(c echo.Context, l *models.Link, now time.Time, status int, form public.SignupForm) error {
	v := s.landingView(l, now)
	v.Form = form
	// Answers to POSTs hold the fan's email: never cache them.
	c.Response().Header().Set("Cache-Control", "no-store")
	if isHTMX(c) {
		return render(c, status, public.Signup(v))
	}
	return render(c, status, public.LandingPage(v))
}

// publicLink finds the link behind /:slug. A draft answers exactly like a
// slug that does not exist, so drafts cannot be discovered.
func (s *Server) publicLink(c echo.Context) (*models.Link, error) {
	return s.linkBySlug(c.Request().Context(), c.Param("slug"))
}

func (s *Server) linkBySlug(ctx context.Context, slug string) (*models.Link, error) {
	l, err := store.LinkBySlug(ctx, s.DB, slug)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, noLanding()
	case err != nil:
		return nil, err
	case l.State == models.LinkDraft:
		return nil, noLanding()
	}
	return l, nil
}

func noLanding() error {
	return echo.NewHTTPError(http.StatusNotFound, "There is no release page at this address. Check the link you followed.")
}

// released tells whether the page shows "Out now" rather than the countdown.
func released(l *models.Link, now time.Time) bool {
	return l.State == models.LinkReleased || !now.Before(l.ReleaseAt)
}

// landingView turns a link into what the page shows, with an empty form.
func (s *Server) landingView(l *models.Link, now time.Time) public.Landing {
	loc, err := time.LoadLocation(l.TimeZone)
	if err != nil {
		// The admin forms only accept real zones; this is a last resort, and says so.
		loc = time.UTC
	}
	local := l.ReleaseAt.In(loc)
	day := local.Format("Monday 2 January")
	zone := loc.String()
	v := public.Landing{
		Slug:        l.Slug,
		Title:       l.Title,
		Artist:      l.Artist,
		Subtitle:    l.Subtitle,
		ArtworkURL:  artwork.URL(l.Artwork, 640),
		ReleaseISO:  l.ReleaseAt.UTC().Format(time.RFC3339),
		ReleaseText: fmt.Sprintf("Out %s, %s (%s)", day, local.Format("15:04"), zone),
		Released:    released(l, now),
		Consent:     signup.ConsentText(l.Title),
		PageURL:     s.Config.URL("/" + l.Slug),
	}
	for _, p := range models.Platforms {
		if s.Presave.Enabled(p.Key) {
			_, inPage := s.Presave.PageClient(p.Key)
			v.Direct = append(v.Direct, public.DirectPlatform{Key: p.Key, Name: p.Name, Icon: p.Icon, InPage: inPage})
		} else {
			v.Platforms = append(v.Platforms, p)
		}
	}
	if v.ArtworkURL != "" {
		v.OGImage = s.Config.URL(v.ArtworkURL)
	}
	lead := "New music from " + l.Artist
	if l.Subtitle != "" {
		lead = strings.TrimRight(l.Subtitle, ".")
	}
	if v.Released {
		v.ReleaseText = fmt.Sprintf("Released %s", day)
		v.Description = lead + ". Out now."
	} else {
		v.Description = fmt.Sprintf("%s. Out %s – get notified when it drops.", lead, day)
	}
	return v
}

// landingETag names one rendering of the page: the build (templates), the link's content and state,
// whether its release time has passed, which platforms save directly, the assets the page links to (their
// URLs carry content hashes) and the base URL in its Open Graph tags.
func landingETag(l *models.Link, released bool, base, direct string) string {
	h := sha256.New()
	fmt.Fprintf(h, "direct=%s|", direct)
	fmt.Fprintf(h, "%s|%d|%d|%s|%t|%s|%s|%s|%s|%s", static.BuildID(), l.ID, l.UpdatedAt.UnixNano(), l.State, released, base,
		static.Version("css/public.css"), static.Version("js/countdown.js"), static.Version("js/htmx.min.js"), static.Version("js/listen.js"))
	for _, p := range models.Platforms {
		fmt.Fprintf(h, "|%s", static.Version("img/platforms/"+p.Icon))
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:12]) + `"`
}

// directKeys names the platforms in direct mode: configuring one changes every landing page.
func (s *Server) directKeys() string {
	var keys []string
	for _, p := range models.Platforms {
		if s.Presave.Enabled(p.Key) {
			keys = append(keys, p.Key)
		}
	}
	return strings.Join(keys, ",")
}

// etagMatches reads If-None-Match, which may list several tags, weak ones or "*".
func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}
