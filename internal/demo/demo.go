// Package demo seeds the `dropday demo` workspace: an admin, a link releasing
// in a few minutes with generated artwork, so a newcomer can walk the fan's
// whole path against the local platform stand-ins.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/accounts"
	"github.com/dropday/dropday/internal/artwork"
	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// Demo account and link, printed at start.
const (
	Email     = "demo@dropday.test"
	Workspace = "Demo Records"
	Slug      = "night-drive"
	// ReleaseIn is how far ahead the demo link's release is put at every
	// start, unless `dropday demo -release-in` says otherwise.
	ReleaseIn = 10 * time.Minute
)

// Seeded is what the demo prints.
type Seeded struct {
	Email, Password, Slug string
	ReleaseAt             time.Time
}

// Seed creates the demo admin and link on first run, and on every run gives
// the admin a fresh password (printed) and moves the release to releaseIn from
// now (to the minute when it is a minute or more away).
func Seed(ctx context.Context, db *bun.DB, h *auth.Hasher, art *artwork.Store, now time.Time, releaseIn time.Duration) (Seeded, error) {
	pw := auth.NewToken("")[:16]
	u, err := store.UserByEmail(ctx, db, Email)
	var ws int64
	switch {
	case errors.Is(err, store.ErrNotFound):
		_, w, errs, err := accounts.CreateOwner(ctx, db, h, accounts.OwnerInput{Name: "Demo", Email: Email, Password: pw, Workspace: Workspace}, "", now)
		if err != nil {
			return Seeded{}, err
		}
		if errs.Has() {
			return Seeded{}, errs
		}
		ws = w.ID
	case err != nil:
		return Seeded{}, err
	default:
		hash, err := h.Hash(pw) // bcrypt is slow on purpose: only when needed
		if err != nil {
			return Seeded{}, err
		}
		if err := store.SetPassword(ctx, db, u.ID, hash); err != nil {
			return Seeded{}, err
		}
		m, err := store.WorkspacesOf(ctx, db, u.ID)
		if err != nil || len(m) == 0 {
			return Seeded{}, fmt.Errorf("demo: the demo admin has no workspace: %v", err)
		}
		ws = m[0].WorkspaceID
	}

	release := now.Add(releaseIn).UTC()
	if releaseIn >= time.Minute {
		release = release.Truncate(time.Minute)
	}
	l, err := store.LinkBySlug(ctx, db, Slug)
	switch {
	case errors.Is(err, store.ErrNotFound):
		key, err := art.Save(bytes.NewReader(Cover()))
		if err != nil {
			return Seeded{}, fmt.Errorf("demo: artwork: %w", err)
		}
		l = &models.Link{WorkspaceID: ws, Slug: Slug, Title: "Night Drive", Artist: "Mara Lune",
			Subtitle: "The new single, out in a few minutes", Artwork: key, ReleaseAt: release, TimeZone: "Europe/Berlin",
			SourceKind: models.SourceSpotifyTrack, SourceValue: "spotify:track:4uLU6hMCjMI75M1A2tKUQC",
			State: models.LinkLive, CreatedAt: now, UpdatedAt: now}
		if err := store.CreateLink(ctx, db, l); err != nil {
			return Seeded{}, err
		}
	case err != nil:
		return Seeded{}, err
	default:
		l.ReleaseAt, l.State, l.UpdatedAt = release, models.LinkLive, now
		if err := store.UpdateLink(ctx, db, l); err != nil {
			return Seeded{}, err
		}
	}
	if err := seedBroadcast(ctx, db, l, now); err != nil {
		return Seeded{}, err
	}
	return Seeded{Email: Email, Password: pw, Slug: Slug, ReleaseAt: release}, nil
}

// seedBroadcast schedules the demo link's release-day email for its release
// time, so a fan who signs up finds it in the Outbox when the link releases.
// One a previous demo run finished is replaced; one the newcomer is editing
// or sending is left alone.
func seedBroadcast(ctx context.Context, db *bun.DB, l *models.Link, now time.Time) error {
	b, err := store.BroadcastForLink(ctx, db, l.WorkspaceID, l.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case b.State == models.BroadcastSent || b.State == models.BroadcastCancelled:
		if err := store.DeleteBroadcast(ctx, db, b.ID); err != nil {
			return err
		}
	default:
		return nil
	}
	return store.SaveBroadcastDraft(ctx, db, &models.Broadcast{WorkspaceID: l.WorkspaceID, LinkID: l.ID,
		Subject: l.Title + " is out now", BodyFormat: models.FormatMarkdown, State: models.BroadcastScheduled,
		Body: "Hi,\n\n**" + l.Title + "** is out now — thank you for waiting with me.\n\n" +
			"Press the button below and it opens on your platform. See you at the show,\n\n" + l.Artist,
		CreatedAt: now, UpdatedAt: now})
}

// Cover draws the demo artwork: a dusk sky, a setting sun and a road.
func Cover() []byte {
	const n = 900
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	horizon := n * 11 / 20
	for y := 0; y < n; y++ {
		f := float64(y) / n
		sky := color.RGBA{uint8(40 + 200*f), uint8(20 + 60*f), uint8(120 - 40*f), 255}
		for x := 0; x < n; x++ {
			c := sky
			dx, dy := float64(x-n/2), float64(y-horizon)
			if y < horizon && math.Hypot(dx, dy) < 190 {
				c = color.RGBA{255, uint8(200 - 80*f), 90, 255}
			}
			if y > horizon {
				w := float64(y-horizon) / float64(n-horizon)
				c = color.RGBA{uint8(30 + 20*w), 18, uint8(50 + 30*w), 255}
				if math.Abs(dx) < 4+12*w && (y/20)%2 == 0 {
					c = color.RGBA{255, 220, 120, 255}
				}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // encoding to memory cannot fail
	return buf.Bytes()
}
