package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/models"
)

// Views gather in memory between flushes; stopping the server writes them,
// after the last request has been answered.
func TestServeFlushesViewsAtShutdown(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite://" + filepath.Join(dir, "dropday.db")
	env := map[string]string{"DROPDAY_ADDR": "127.0.0.1:0", "DROPDAY_DATA_DIR": dir, "DROPDAY_DATABASE_URL": dbURL}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, _, done := startServe(t, ctx, env)

	db, err := store.Open(context.Background(), dbURL) // migrated by the server
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	w := &models.Workspace{Name: "Mara Lune", CreatedAt: now}
	if err := store.CreateWorkspace(context.Background(), db, w); err != nil {
		t.Fatal(err)
	}
	l := &models.Link{WorkspaceID: w.ID, Slug: "night-drive", Title: "Night Drive", Artist: "Mara Lune", ReleaseAt: now.Add(48 * time.Hour),
		TimeZone: "Europe/Berlin", State: models.LinkLive, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateLink(context.Background(), db, l); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/night-drive", nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("landing: %v %v", res, err)
		}
		res.Body.Close()
	}
	before, _ := db.NewSelect().Table("analytics_views").Where("link_id = ?", l.ID).Count(context.Background())
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("serve did not stop")
	}
	var views, visitors int
	if err := db.NewSelect().Table("analytics_views").Column("views", "visitors").Where("link_id = ?", l.ID).
		Scan(context.Background(), &views, &visitors); err != nil {
		t.Fatalf("no views stored after the shutdown (%d rows before it): %v", before, err)
	}
	if views != 3 || visitors != 1 {
		t.Fatalf("%d views, %d visitors after the shutdown; want 3, 1", views, visitors)
	}
	t.Logf("view rows before the shutdown: %d (the periodic flush runs every 5 s)", before)
}
