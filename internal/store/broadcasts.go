package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// BroadcastForLink returns a link's broadcast (ErrNotFound when none was written yet).
func BroadcastForLink(ctx context.Context, db bun.IDB, workspaceID, linkID int64) (*models.Broadcast, error) {
	b := new(models.Broadcast)
	if err := db.NewSelect().Model(b).Where("workspace_id = ? AND link_id = ?", workspaceID, linkID).Scan(ctx); err != nil {
		return nil, notFound("broadcast", err)
	}
	return b, nil
}

// BroadcastByID returns a broadcast for the sending engine (no workspace scope).
func BroadcastByID(ctx context.Context, db bun.IDB, id int64) (*models.Broadcast, error) {
	b := new(models.Broadcast)
	if err := db.NewSelect().Model(b).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound("broadcast", err)
	}
	return b, nil
}

// SaveBroadcastDraft creates a link's broadcast or updates its text and
// schedule, only while it has not started (draft or scheduled).
func SaveBroadcastDraft(ctx context.Context, db bun.IDB, b *models.Broadcast) error {
	res, err := db.NewInsert().Model(b).
		On("CONFLICT (link_id) DO UPDATE").
		Set("subject = EXCLUDED.subject").Set("body = EXCLUDED.body").Set("body_format = EXCLUDED.body_format").
		Set("state = EXCLUDED.state").Set("send_at = EXCLUDED.send_at").Set("updated_at = EXCLUDED.updated_at").
		Where("broadcast.state IN (?, ?)", models.BroadcastDraft, models.BroadcastScheduled).
		Returning("id, created_at").Exec(ctx)
	return mustAffect("save broadcast", res, err)
}

// SetBroadcastState moves a broadcast from one of the states in from to
// state; it reports false when it was in none of them (someone else moved it).
func SetBroadcastState(ctx context.Context, db bun.IDB, id int64, from []string, state, reason string, now time.Time) (bool, error) {
	q := db.NewUpdate().Model((*models.Broadcast)(nil)).
		Set("state = ?", state).Set("pause_reason = ?", reason).Set("updated_at = ?", now).
		Where("id = ? AND state IN (?)", id, bun.In(from))
	switch state {
	case models.BroadcastSent, models.BroadcastCancelled:
		q = q.Set("finished_at = ?", now)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: set broadcast state: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: set broadcast state: %w", err)
	}
	return n == 1, nil
}

// MarkBroadcastStarted records the recipients' count when sending starts.
func MarkBroadcastStarted(ctx context.Context, db bun.IDB, id int64, total int, now time.Time) error {
	res, err := db.NewUpdate().Model((*models.Broadcast)(nil)).
		Set("total = ?", total).Set("started_at = ?", now).Set("updated_at = ?", now).
		Where("id = ?", id).Exec(ctx)
	return mustAffect("start broadcast", res, err)
}

// DueBroadcasts lists scheduled broadcasts whose time has come: their own
// send_at, or their link's release time when they have none.
func DueBroadcasts(ctx context.Context, db bun.IDB, now time.Time, limit int) ([]models.Broadcast, error) {
	var bs []models.Broadcast
	err := db.NewSelect().Model(&bs).
		Where("broadcast.state = ?", models.BroadcastScheduled).
		Where("COALESCE(broadcast.send_at, (SELECT l.release_at FROM links AS l WHERE l.id = broadcast.link_id)) <= ?", now).
		OrderExpr("broadcast.id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: due broadcasts: %w", err)
	}
	return bs, nil
}

// DeleteBroadcast removes a broadcast and its recipients (the demo replaces a finished one).
func DeleteBroadcast(ctx context.Context, db bun.IDB, id int64) error {
	res, err := db.NewDelete().Model((*models.Broadcast)(nil)).Where("id = ?", id).Exec(ctx)
	return mustAffect("delete broadcast", res, err)
}

// BroadcastRow is a broadcast with what the Broadcasts list shows of its link.
type BroadcastRow struct {
	models.Broadcast `bun:",extend"`

	LinkTitle     string    `bun:"link_title"`
	LinkArtist    string    `bun:"link_artist"`
	LinkArtwork   string    `bun:"link_artwork"`
	LinkReleaseAt time.Time `bun:"link_release_at"`
	LinkTimeZone  string    `bun:"link_time_zone"`
}

// ListBroadcasts pages a workspace's broadcasts (one per link), the most
// recently touched first.
func ListBroadcasts(ctx context.Context, db bun.IDB, workspaceID int64, limit, offset int) ([]BroadcastRow, int, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var rows []BroadcastRow
	n, err := db.NewSelect().Model(&rows).
		ColumnExpr("broadcast.*").
		ColumnExpr("l.title AS link_title, l.artist AS link_artist, l.artwork AS link_artwork").
		ColumnExpr("l.release_at AS link_release_at, l.time_zone AS link_time_zone").
		Join("JOIN links AS l ON l.id = broadcast.link_id AND l.workspace_id = broadcast.workspace_id").
		Where("broadcast.workspace_id = ?", workspaceID).
		OrderExpr("broadcast.updated_at DESC, broadcast.id DESC").
		Limit(int64(limit)).Offset(int64(offset)).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list broadcasts: %w", err)
	}
	return rows, int(n), nil
}
