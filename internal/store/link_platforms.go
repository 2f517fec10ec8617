package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/models"
)

// LinkPlatforms lists where a link's release is, one row per platform that was
// looked up or given a URL, in no particular order.
func LinkPlatforms(ctx context.Context, db bun.IDB, linkID int64) ([]models.LinkPlatform, error) {
	var out []models.LinkPlatform
	if err := db.NewSelect().Model(&out).Where("link_id = ?", linkID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: link platforms: %w", err)
	}
	return out, nil
}

// LinkPlatform finds one platform's row of a link (ErrNotFound when there is none).
func LinkPlatform(ctx context.Context, db bun.IDB, linkID int64, platform string) (*models.LinkPlatform, error) {
	lp := new(models.LinkPlatform)
	if err := db.NewSelect().Model(lp).Where("link_id = ? AND platform = ?", linkID, platform).Scan(ctx); err != nil {
		return nil, notFound("link platform", err)
	}
	return lp, nil
}

// ListenURL is where a link's button for platform goes: the artist's URL, else
// the one found. ErrNotFound when there is neither (yet).
func ListenURL(ctx context.Context, db bun.IDB, linkID int64, platform string) (string, error) {
	lp, err := LinkPlatform(ctx, db, linkID, platform)
	if err != nil {
		return "", err
	}
	if u := lp.ListenURL(); u != "" {
		return u, nil
	}
	return "", fmt.Errorf("store: listen url: %w", ErrNotFound)
}

// RecordFound stores what a catalog look-up found (the first time sets found_at;
// a later look-up refreshes the URL and items but keeps when it was first found).
func RecordFound(ctx context.Context, db bun.IDB, linkID int64, platform, url string, items []string, now time.Time) error {
	if items == nil {
		items = []string{}
	}
	lp := &models.LinkPlatform{LinkID: linkID, Platform: platform, FoundURL: url, Items: items,
		FoundAt: &now, Checks: 1, CheckedAt: &now}
	_, err := db.NewInsert().Model(lp).
		On("CONFLICT (link_id, platform) DO UPDATE").
		Set("found_url = EXCLUDED.found_url").
		Set("items = EXCLUDED.items").
		Set("found_at = COALESCE(link_platform.found_at, EXCLUDED.found_at)").
		Set("checks = link_platform.checks + 1").
		Set("checked_at = EXCLUDED.checked_at").
		Set("last_error = ''").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: record found: %w", err)
	}
	return nil
}

// RecordMissing notes a look-up that did not find the release (msg says why).
func RecordMissing(ctx context.Context, db bun.IDB, linkID int64, platform, msg string, now time.Time) error {
	lp := &models.LinkPlatform{LinkID: linkID, Platform: platform, Items: []string{},
		Checks: 1, CheckedAt: &now, LastError: msg}
	_, err := db.NewInsert().Model(lp).
		On("CONFLICT (link_id, platform) DO UPDATE").
		Set("checks = link_platform.checks + 1").
		Set("checked_at = EXCLUDED.checked_at").
		Set("last_error = EXCLUDED.last_error").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: record missing: %w", err)
	}
	return nil
}

// SetManualURL stores (or, with "", clears) the URL the artist gave for a
// platform. The caller validates it; dropday never fetches it.
func SetManualURL(ctx context.Context, db bun.IDB, linkID int64, platform, url string) error {
	lp := &models.LinkPlatform{LinkID: linkID, Platform: platform, Items: []string{}, ManualURL: url}
	_, err := db.NewInsert().Model(lp).
		On("CONFLICT (link_id, platform) DO UPDATE").
		Set("manual_url = EXCLUDED.manual_url").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: set manual url: %w", err)
	}
	return nil
}

// RecordLookupError notes a look-up that got no answer (rate limited, the
// platform down): last_error says so, but checks is not counted, because the
// release was neither found nor reported missing.
func RecordLookupError(ctx context.Context, db bun.IDB, linkID int64, platform, msg string, now time.Time) error {
	lp := &models.LinkPlatform{LinkID: linkID, Platform: platform, Items: []string{},
		CheckedAt: &now, LastError: msg}
	_, err := db.NewInsert().Model(lp).
		On("CONFLICT (link_id, platform) DO UPDATE").
		Set("checked_at = EXCLUDED.checked_at").
		Set("last_error = EXCLUDED.last_error").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: record lookup error: %w", err)
	}
	return nil
}

// LinkPlatformsOf lists the link_platforms rows of several links, by link id.
func LinkPlatformsOf(ctx context.Context, db bun.IDB, linkIDs []int64) (map[int64][]models.LinkPlatform, error) {
	out := make(map[int64][]models.LinkPlatform, len(linkIDs))
	if len(linkIDs) == 0 {
		return out, nil
	}
	var rows []models.LinkPlatform
	if err := db.NewSelect().Model(&rows).Where("link_id IN (?)", bun.In(linkIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: link platforms of links: %w", err)
	}
	for _, r := range rows {
		out[r.LinkID] = append(out[r.LinkID], r)
	}
	return out, nil
}

// LinksReleasedBetween lists released links with a pre-save source whose
// release time is in [from, to], oldest first: the ones whose release is
// still being looked for. alertPending keeps only those whose owners were
// not told yet what is missing.
func LinksReleasedBetween(ctx context.Context, db bun.IDB, from, to time.Time, alertPending bool, limit int) ([]models.Link, error) {
	var ls []models.Link
	q := db.NewSelect().Model(&ls).
		Where("state = ? AND source_kind <> '' AND release_at >= ? AND release_at <= ?", models.LinkReleased, from, to)
	if alertPending {
		q = q.Where("resolve_alerted_at IS NULL")
	}
	if err := q.Order("release_at", "id").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: links released between: %w", err)
	}
	return ls, nil
}

// MarkResolveAlerted records that the owners were told what is missing;
// false when it was recorded already (another run got there first).
func MarkResolveAlerted(ctx context.Context, db bun.IDB, linkID int64, now time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*models.Link)(nil)).Set("resolve_alerted_at = ?", now).
		Where("id = ? AND resolve_alerted_at IS NULL", linkID).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: mark resolve alerted: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: mark resolve alerted: %w", err)
	}
	return n == 1, nil
}

// ForgetFound clears what the look-ups found for a link whose stored source
// differs from l's (the artist changed it): those items are another release.
// The artist's own addresses stay. A no-op when the source is unchanged.
func ForgetFound(ctx context.Context, db bun.IDB, l *models.Link) error {
	_, err := db.NewUpdate().Model((*models.LinkPlatform)(nil)).
		Set("found_url = ''").Set("items = '[]'").Set("found_at = NULL").
		Set("checks = 0").Set("checked_at = NULL").Set("last_error = ''").
		Where("link_id = ?", l.ID).
		Where("EXISTS (SELECT 1 FROM links WHERE links.id = ? AND (links.source_kind <> ? OR links.source_value <> ?))",
			l.ID, l.SourceKind, l.SourceValue).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: forget found: %w", err)
	}
	return nil
}
