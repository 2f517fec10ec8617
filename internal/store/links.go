package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// CreateLink inserts l; a slug already in use is ErrConflict.
func CreateLink(ctx context.Context, db bun.IDB, l *models.Link) error {
	if _, err := db.NewInsert().Model(l).Returning("id").Exec(ctx); err != nil {
		return conflict("create link", err)
	}
	return nil
}

// UpdateLink saves every editable field of l, within l's workspace. A new
// pre-save source forgets what the old one found (ForgetFound).
func UpdateLink(ctx context.Context, db bun.IDB, l *models.Link) error {
	if err := ForgetFound(ctx, db, l); err != nil {
		return err
	}
	res, err := db.NewUpdate().Model(l).
		Column("slug", "title", "artist", "subtitle", "artwork", "release_at", "time_zone",
			"source_kind", "source_value", "state", "updated_at").
		Where("id = ? AND workspace_id = ?", l.ID, l.WorkspaceID).Exec(ctx)
	if err != nil {
		return conflict("update link", err)
	}
	return mustAffect("update link", res, nil)
}

// LinkByID finds a link in a workspace; another workspace's link is ErrNotFound.
func LinkByID(ctx context.Context, db bun.IDB, workspaceID, id int64) (*models.Link, error) {
	l := new(models.Link)
	err := db.NewSelect().Model(l).
		Where("id = ? AND workspace_id = ?", id, workspaceID).Scan(ctx)
	if err != nil {
		return nil, notFound("link", err)
	}
	return l, nil
}

// LinkBySlug finds a link for the public page, whatever its workspace.
func LinkBySlug(ctx context.Context, db bun.IDB, slug string) (*models.Link, error) {
	l := new(models.Link)
	if err := db.NewSelect().Model(l).Where("slug = ?", slug).Scan(ctx); err != nil {
		return nil, notFound("link by slug", err)
	}
	return l, nil
}

// LinkFilter narrows ListLinks. Zero values mean "any".
type LinkFilter struct {
	State  string
	Limit  int // default 50, at most 200
	Offset int
}

// ListLinks lists a workspace's links, the next release first, with signup counts.
func ListLinks(ctx context.Context, db bun.IDB, workspaceID int64, f LinkFilter) ([]models.Link, int, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var ls []models.Link
	q := db.NewSelect().Model(&ls).
		ColumnExpr("link.*").
		ColumnExpr("(SELECT COUNT(*) FROM signups s WHERE s.link_id = link.id) AS signup_count").
		Where("link.workspace_id = ?", workspaceID)
	if f.State != "" {
		q = q.Where("link.state = ?", f.State)
	}
	total, err := q.OrderExpr("link.state = 'archived', link.release_at DESC, link.id DESC").
		Limit(int64(f.Limit)).Offset(int64(f.Offset)).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list links: %w", err)
	}
	return ls, int(total), nil
}

// LinkForFan finds a link by id without a workspace scope, for fan-side flows
// whose link id comes from a row the server wrote (an OAuth state, a pre-save),
// never from an admin's request.
func LinkForFan(ctx context.Context, db bun.IDB, id int64) (*models.Link, error) {
	l := new(models.Link)
	if err := db.NewSelect().Model(l).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound("link", err)
	}
	return l, nil
}

// OpenLinkIDs returns which of ids are links that take signups and pre-saves
// now (live or released), read inside the caller's transaction: a link
// archived on another instance is closed here at once, whatever that
// instance's page cache still says.
func OpenLinkIDs(ctx context.Context, db bun.IDB, ids []int64) (map[int64]bool, error) {
	var open []int64
	if err := db.NewSelect().Model((*models.Link)(nil)).Column("id").
		Where("id IN (?) AND state IN (?)", bun.In(ids), bun.In([]string{models.LinkLive, models.LinkReleased})).
		Scan(ctx, &open); err != nil {
		return nil, fmt.Errorf("store: open links: %w", err)
	}
	m := make(map[int64]bool, len(open))
	for _, id := range open {
		m[id] = true
	}
	return m, nil
}

// LinksDue lists live links whose release time has passed: the scheduler releases them.
func LinksDue(ctx context.Context, db bun.IDB, now time.Time, limit int) ([]models.Link, error) {
	var ls []models.Link
	err := db.NewSelect().Model(&ls).Where("state = ? AND release_at <= ?", models.LinkLive, now).
		Order("release_at", "id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: links due: %w", err)
	}
	return ls, nil
}

// MarkReleased moves a live link to released; false when it was not live any more.
func MarkReleased(ctx context.Context, db bun.IDB, id int64, now time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*models.Link)(nil)).Set("state = ?", models.LinkReleased).Set("updated_at = ?", now).
		Where("id = ? AND state = ?", id, models.LinkLive).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: mark released: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: mark released: %w", err)
	}
	return n == 1, nil
}

// LinkChoice names a link in a filter's menu.
type LinkChoice struct {
	ID    int64  `bun:"id"`
	Title string `bun:"title"`
	Slug  string `bun:"slug"`
}

// LinkChoices lists a workspace's links for a filter menu, newest first, at most limit.
func LinkChoices(ctx context.Context, db bun.IDB, workspaceID int64, limit int) ([]LinkChoice, error) {
	var out []LinkChoice
	err := db.NewSelect().Model((*models.Link)(nil)).Column("id", "title", "slug").
		Where("workspace_id = ?", workspaceID).OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("store: link choices: %w", err)
	}
	return out, nil
}
