// Package seed fills a database with many pending pre-saves at once, for
// `make bench` and the fault tests: the rows a real consent writes, sealed
// credentials included, without a browser round trip for each fan.
package seed

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/presave"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/vault"
	"github.com/dropday/dropday/models"
)

// Track is the seeded link's Spotify source.
const Track = "spotify:track:4uLU6hMCjMI75M1A2tKUQC"

// Link creates a workspace and a live link whose Spotify release is due at releaseAt.
func Link(ctx context.Context, db bun.IDB, slug string, releaseAt, now time.Time) (*models.Link, error) {
	w := &models.Workspace{Name: "Bench Records", CreatedAt: now}
	if err := store.CreateWorkspace(ctx, db, w); err != nil {
		return nil, err
	}
	l := &models.Link{WorkspaceID: w.ID, Slug: slug, Title: "Night Drive", Artist: "Mara Lune",
		ReleaseAt: releaseAt.UTC(), TimeZone: "UTC", SourceKind: models.SourceSpotifyTrack, SourceValue: Track,
		State: models.LinkLive, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateLink(ctx, db, l); err != nil {
		return nil, err
	}
	return l, nil
}

// Fan is one seeded Spotify account: its user id and a refresh token the
// stand-in accepts (spotifytest.Server.Grant).
type Fan struct {
	UserID       string
	RefreshToken string
}

// Fans makes n Spotify accounts fan0 … fan<n-1>, each with the refresh token
// grant returns for its id (spotifytest.Server.Grant).
func Fans(n int, grant func(userID string) string) []Fan {
	fans := make([]Fan, n)
	for i := range fans {
		id := "fan" + strconv.Itoa(i)
		fans[i] = Fan{UserID: id, RefreshToken: grant(id)}
	}
	return fans
}

// MasterKeys is a fresh DROPDAY_MASTER_KEYS value (one random version-1 key),
// for seeding with vault.Parse and for the child process to decrypt with.
func MasterKeys() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("seed: master keys: %w", err)
	}
	return "1:" + base64.StdEncoding.EncodeToString(b), nil
}

// batch keeps each INSERT under SQLite's bound-parameter limit.
const batch = 500

// Presaves inserts one pending Spotify pre-save per fan on the link, with
// credentials sealed for their rows, in batches of one transaction each.
// Ids are assigned here (a seal binds the id), so nothing else may insert
// pre-saves meanwhile.
func Presaves(ctx context.Context, db *bun.DB, k *vault.Keyring, l *models.Link, fans []Fan, now time.Time) error {
	var next int64
	if err := db.NewSelect().Model((*models.Presave)(nil)).ColumnExpr("COALESCE(MAX(id), 0)").Scan(ctx, &next); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	for start := 0; start < len(fans); start += batch {
		part := fans[start:min(start+batch, len(fans))]
		rows := make([]models.Presave, len(part))
		for i, f := range part {
			next++
			blob, version, err := presave.SealCredential(k, next, f.RefreshToken)
			if err != nil {
				return err
			}
			h := sha256.Sum256([]byte("seed:" + strconv.FormatInt(l.ID, 10) + ":" + f.UserID))
			rows[i] = models.Presave{ID: next, WorkspaceID: l.WorkspaceID, LinkID: l.ID, Platform: "spotify",
				PlatformUserID: f.UserID, DisplayName: f.UserID, ConsentVersion: presave.ConsentVersion,
				ConsentedAt: now, Scope: "user-library-modify", State: models.PresavePending,
				RevokeTokenHash: hex.EncodeToString(h[:]), Credential: blob, CredentialKeyVersion: &version,
				CreatedAt: now, UpdatedAt: now}
		}
		if _, err := db.NewInsert().Model(&rows).Exec(ctx); err != nil {
			return fmt.Errorf("seed: insert pre-saves: %w", err)
		}
	}
	if store.DialectName(db) == "postgres" {
		// Explicit ids leave the sequence behind: catch it up for later consents.
		if _, err := db.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('presaves', 'id'), (SELECT MAX(id) FROM presaves))"); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	return nil
}

// Subscribers signs n fans up for the link's email (as the landing page's
// signup does), in batches, and returns their addresses.
func Subscribers(ctx context.Context, db *bun.DB, l *models.Link, n int, now time.Time) ([]string, error) {
	emails := make([]string, 0, n)
	for start := 0; start < n; start += batch {
		subs := make([]models.Subscriber, 0, batch)
		for i := start; i < min(start+batch, n); i++ {
			e := fmt.Sprintf("fan%07d@example.com", i)
			emails = append(emails, e)
			p := "spotify"
			if i%4 == 3 {
				p = "apple_music"
			}
			subs = append(subs, models.Subscriber{WorkspaceID: l.WorkspaceID, Email: e, Platform: p,
				Status: models.SubscriberActive, CreatedAt: now, UpdatedAt: now})
		}
		if _, err := db.NewInsert().Model(&subs).Returning("id").Exec(ctx); err != nil {
			return nil, fmt.Errorf("seed: insert subscribers: %w", err)
		}
		signups := make([]models.Signup, len(subs))
		for i, s := range subs {
			signups[i] = models.Signup{WorkspaceID: l.WorkspaceID, LinkID: l.ID, SubscriberID: s.ID, Platform: s.Platform,
				ConsentVersion: "signup-v1", ConsentedAt: now, CreatedAt: now}
		}
		if _, err := db.NewInsert().Model(&signups).Exec(ctx); err != nil {
			return nil, fmt.Errorf("seed: insert signups: %w", err)
		}
	}
	return emails, nil
}

// Broadcast schedules the link's release-day email to go out at sendAt.
func Broadcast(ctx context.Context, db bun.IDB, l *models.Link, sendAt, now time.Time) (*models.Broadcast, error) {
	b := &models.Broadcast{WorkspaceID: l.WorkspaceID, LinkID: l.ID, Subject: l.Title + " is out",
		Body: "It's here. **" + l.Title + "** — thank you for waiting.", BodyFormat: models.FormatMarkdown,
		State: models.BroadcastScheduled, SendAt: &sendAt, CreatedAt: now, UpdatedAt: now}
	if err := store.SaveBroadcastDraft(ctx, db, b); err != nil {
		return nil, err
	}
	return b, nil
}
