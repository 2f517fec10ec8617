package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
)

func TestLinkPlatforms(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		_, w := seedWorkspace(t, db, "o@example.com")
		l := newLink(w.ID, "drop")
		if err := store.CreateLink(ctx, db, l); err != nil {
			t.Fatal(err)
		}
		if _, err := store.ListenURL(ctx, db, l.ID, "spotify"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no row: %v", err)
		}
		if err := store.RecordMissing(ctx, db, l.ID, "spotify", "not live yet", t0); err != nil {
			t.Fatal(err)
		}
		if _, err := store.ListenURL(ctx, db, l.ID, "spotify"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing row: %v", err)
		}
		if err := store.RecordFound(ctx, db, l.ID, "spotify", "https://open.spotify.com/album/a", []string{"spotify:album:a"}, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordFound(ctx, db, l.ID, "spotify", "https://open.spotify.com/album/b", []string{"spotify:album:b"}, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		lp, err := store.LinkPlatform(ctx, db, l.ID, "spotify")
		if err != nil {
			t.Fatal(err)
		}
		if lp.Checks != 3 || lp.LastError != "" || !lp.FoundAt.Equal(t0.Add(time.Hour)) || lp.Items[0] != "spotify:album:b" {
			t.Fatalf("row %+v", lp)
		}
		if err := store.SetManualURL(ctx, db, l.ID, "spotify", "https://open.spotify.com/album/c"); err != nil {
			t.Fatal(err)
		}
		if u, _ := store.ListenURL(ctx, db, l.ID, "spotify"); u != "https://open.spotify.com/album/c" {
			t.Fatalf("override: %q", u)
		}
		if err := store.SetManualURL(ctx, db, l.ID, "youtube", "https://www.youtube.com/watch?v=x"); err != nil {
			t.Fatal(err)
		}
		lps, err := store.LinkPlatforms(ctx, db, l.ID)
		if err != nil || len(lps) != 2 {
			t.Fatalf("%d rows, %v", len(lps), err)
		}
	})
}
