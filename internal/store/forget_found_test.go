package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

// A new pre-save source forgets what the old one found (those items are
// another release) and keeps the artist's addresses; an edit that keeps the
// source keeps everything.
func TestUpdateLinkForgetsWhatAnOldSourceFound(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		_, w := seedWorkspace(t, db, "o@example.com")
		l := newLink(w.ID, "drop")
		l.SourceKind, l.SourceValue = models.SourceUPC, "036000291452"
		if err := store.CreateLink(ctx, db, l); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordFound(ctx, db, l.ID, "spotify", "https://open.spotify.com/album/a", []string{"spotify:album:a"}, t0); err != nil {
			t.Fatal(err)
		}
		if err := store.SetManualURL(ctx, db, l.ID, "spotify", "https://open.spotify.com/album/mine"); err != nil {
			t.Fatal(err)
		}
		l.Title = "Renamed"
		if err := store.UpdateLink(ctx, db, l); err != nil {
			t.Fatal(err)
		}
		if lp, _ := store.LinkPlatform(ctx, db, l.ID, "spotify"); lp.FoundAt == nil || len(lp.Items) != 1 {
			t.Fatalf("same source, found row lost: %+v", lp)
		}
		l.SourceKind, l.SourceValue = models.SourceISRC, "USRC17607839"
		l.UpdatedAt = t0.Add(time.Hour)
		if err := store.UpdateLink(ctx, db, l); err != nil {
			t.Fatal(err)
		}
		lp, err := store.LinkPlatform(ctx, db, l.ID, "spotify")
		if err != nil {
			t.Fatal(err)
		}
		if lp.FoundAt != nil || lp.FoundURL != "" || len(lp.Items) != 0 || lp.Checks != 0 || lp.ManualURL != "https://open.spotify.com/album/mine" {
			t.Fatalf("new source: %+v", lp)
		}
	})
}
