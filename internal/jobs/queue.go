package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/store"
)

// ErrLost is returned by Complete, Retry, Snooze and Cancel when the job is
// no longer running under the attempt the caller claimed: its lease expired
// and it was rescued (and perhaps claimed and finished by another worker).
// The caller must drop the job; whoever holds it now accounts for it.
var ErrLost = errors.New("job lost: no longer running under this attempt")

// DefaultLease is how long a claimed job stays with its worker before Rescue
// may hand it to another.
const DefaultLease = 5 * time.Minute

// MaxBackoff caps the delay before a retry.
const MaxBackoff = 6 * time.Hour

// RescuedError is the last_error of a job whose lease expired.
const RescuedError = "rescued: lease expired"

// maxErrorLen bounds the last_error text kept per job.
const maxErrorLen = 2000

// Queue claims and settles jobs on one database. Share one *Queue rather
// than copying it: it remembers when it last refreshed statistics.
type Queue struct {
	DB *bun.DB
	// Now is the clock; nil means time.Now. Tests inject a fake one.
	Now func() time.Time
	// Lease is how long a claim lasts; zero means DefaultLease.
	Lease time.Duration
	// Backoff is the delay before a failed attempt runs again; nil means
	// DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Instance names this process in jobs.claimed_by (see internal/instance);
	// empty leaves claimed_by NULL.
	Instance string

	analyzeMu  sync.Mutex
	analyzedAt time.Time // wall clock, not Now: this is upkeep, not queue logic
}

// A PostgreSQL claim slower than slowClaim refreshes the table's statistics,
// at most once per analyzeEvery per Queue. Without them (a backlog enqueued
// since the last autoanalyze, or autovacuum off) the planner may sort the
// whole backlog on every claim instead of walking jobs_claim_idx: 40 ms
// rather than 1 ms per claim with 100,000 jobs queued.
const (
	slowClaim    = 20 * time.Millisecond
	analyzeEvery = time.Minute
)

func (q *Queue) now() time.Time {
	if q.Now != nil {
		return ts(q.Now())
	}
	return ts(time.Now())
}

func (q *Queue) lease() time.Duration {
	if q.Lease > 0 {
		return q.Lease
	}
	return DefaultLease
}

// DefaultBackoff waits attempt⁴ seconds (1s, 16s, 81s, 4m16s, 10m25s, 21m36s,
// 40m1s, 1h8m16s, 1h49m21s, 2h46m40s for attempts 1 to 10) plus a random
// jitter of up to 10% of that, so jobs that failed together (a platform
// outage) do not all come back in the same second; the total is capped at
// MaxBackoff.
func DefaultBackoff(attempt int) time.Duration {
	a := max(1, min(attempt, 13)) // 13⁴ s is already past MaxBackoff; no overflow
	base := time.Duration(a*a*a*a) * time.Second
	d := base + rand.N(base/10+1)
	return min(d, MaxBackoff)
}

// Claim takes up to n jobs of the given kinds (any kind when kinds is empty)
// that are available or retryable with run_at <= now, oldest run_at first,
// and marks them running with attempt incremented and a lease until now +
// Lease. Concurrent claimers, in this process or another, never get the same
// job.
func (q *Queue) Claim(ctx context.Context, kinds []string, n int) ([]Job, error) {
	if n <= 0 {
		return nil, nil
	}
	now := q.now()
	var by any // NULL when the queue has no instance name
	if q.Instance != "" {
		by = q.Instance
	}
	args := []any{now.Add(q.lease()), now, by, now}
	if len(kinds) > 0 {
		args = append(args, bun.In(kinds))
	}
	args = append(args, n)
	dialect := store.DialectName(q.DB)
	query := claimSQL(dialect, len(kinds) > 0)
	var jobs []Job
	start := time.Now()
	if err := q.DB.NewRaw(query, args...).Scan(ctx, &jobs); err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("jobs: claim: %w", err)
	}
	if dialect == "postgres" && time.Since(start) > slowClaim {
		q.analyze(ctx)
	}
	slices.SortFunc(jobs, func(a, b Job) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return jobs, nil
}

// analyze refreshes the planner's statistics of jobs, unless done lately.
// A failure (say, a role that does not own the table) is only a missed
// optimisation, so it is not reported.
func (q *Queue) analyze(ctx context.Context) {
	q.analyzeMu.Lock()
	defer q.analyzeMu.Unlock()
	if time.Since(q.analyzedAt) < analyzeEvery {
		return
	}
	q.analyzedAt = time.Now()
	_, _ = q.DB.ExecContext(ctx, "ANALYZE jobs")
}

// claimSQL is the claim statement; its arguments are the lease end, now
// (updated_at), the claiming instance, now (due), the kinds when byKind, and
// the limit.
func claimSQL(dialect string, byKind bool) string {
	kindCond := ""
	if byKind {
		kindCond = " AND kind IN (?)"
	}
	// SQLite needs no lock clause: the statement holds the database's
	// write lock from start to end, so no other writer runs between its
	// SELECT and its UPDATE. PostgreSQL locks the chosen rows and skips
	// rows another claimer has locked rather than waiting for them; under
	// READ COMMITTED a row another claimer committed meanwhile is checked
	// against the WHERE clause again after locking, so a job it has just
	// made running drops out here.
	//
	// The inner SELECT matches jobs_claim_idx (a partial index on run_at,
	// id over the two claimable states), so it reads the next n due rows
	// in order instead of sorting the backlog. SQLite is told so (INDEXED
	// BY): without statistics it prefers any index that starts with an
	// equality on state, then sorts every queued job on each claim.
	lock, index := "", " INDEXED BY jobs_claim_idx"
	if dialect == "postgres" {
		lock, index = " FOR UPDATE SKIP LOCKED", ""
	}
	return `UPDATE jobs SET state = 'running', attempt = attempt + 1, locked_until = ?, updated_at = ?, claimed_by = ?
WHERE id IN (
	SELECT id FROM jobs` + index + `
	WHERE state IN ('available', 'retryable') AND run_at <= ?` + kindCond + `
	ORDER BY run_at, id
	LIMIT ?` + lock + `
)
RETURNING ` + jobColumns
}

// jobColumns are the columns of Job, named so a column added later by a
// migration does not break a binary that does not know it yet.
const jobColumns = "id, kind, payload, state, attempt, max_attempts, run_at, locked_until, last_error, unique_key, created_at, updated_at, finalized_at, claimed_by"

// settle updates a job the caller claimed, provided it is still running under
// the caller's attempt; otherwise it returns ErrLost.
func (q *Queue) settle(ctx context.Context, what string, job Job, set func(*bun.UpdateQuery) *bun.UpdateQuery) error {
	upd := q.DB.NewUpdate().Table("jobs").
		Set("locked_until = NULL").
		Set("updated_at = ?", q.now()).
		Where("id = ?", job.ID).
		Where("state = ?", StateRunning).
		Where("attempt = ?", job.Attempt)
	res, err := set(upd).Exec(ctx)
	if err != nil {
		return fmt.Errorf("jobs: %s job %d: %w", what, job.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("jobs: %s job %d: %w", what, job.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("jobs: %s job %d (attempt %d): %w", what, job.ID, job.Attempt, ErrLost)
	}
	return nil
}

// Complete records that the job succeeded.
func (q *Queue) Complete(ctx context.Context, job Job) error {
	return q.settle(ctx, "complete", job, func(u *bun.UpdateQuery) *bun.UpdateQuery {
		return u.Set("state = ?", StateCompleted).Set("finalized_at = ?", q.now())
	})
}

// CompleteMany records that these jobs succeeded, in one statement, each
// guarded like Complete. It returns the ids of the jobs it did not complete
// because they were lost (see ErrLost); err is for the statement as a whole.
// The Runner records its successes this way, one commit for many jobs.
func (q *Queue) CompleteMany(ctx context.Context, jobs []Job) (lost []int64, err error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	now := q.now()
	// (id, attempt) IN (VALUES …): the row-value form both databases accept.
	var b strings.Builder
	args := []any{StateCompleted, now, now, StateRunning}
	for i, j := range jobs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, j.ID, j.Attempt)
	}
	type claim struct {
		ID      int64 `bun:"id"`
		Attempt int   `bun:"attempt"`
	}
	var done []claim
	err = q.DB.NewRaw(`UPDATE jobs SET state = ?, finalized_at = ?, updated_at = ?, locked_until = NULL
WHERE state = ? AND (id, attempt) IN (VALUES `+b.String()+`)
RETURNING id, attempt`, args...).Scan(ctx, &done)
	if err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("jobs: complete %d jobs: %w", len(jobs), err)
	}
	if len(done) == len(jobs) {
		return nil, nil
	}
	ok := make(map[claim]bool, len(done))
	for _, c := range done {
		ok[c] = true
	}
	for _, j := range jobs {
		if !ok[claim{j.ID, j.Attempt}] {
			lost = append(lost, j.ID)
		}
	}
	return lost, nil
}

// Retry records a failed attempt: the job runs again after Backoff(attempt),
// or, when it has used all its attempts, is discarded. Either way cause is
// kept as last_error.
func (q *Queue) Retry(ctx context.Context, job Job, cause error) error {
	msg := errorText(cause)
	now := q.now()
	if job.Attempt >= job.MaxAttempts {
		return q.settle(ctx, "discard", job, func(u *bun.UpdateQuery) *bun.UpdateQuery {
			return u.Set("state = ?", StateDiscarded).Set("last_error = ?", msg).Set("finalized_at = ?", now)
		})
	}
	backoff := DefaultBackoff
	if q.Backoff != nil {
		backoff = q.Backoff
	}
	runAt := ts(now.Add(max(0, backoff(job.Attempt))))
	return q.settle(ctx, "retry", job, func(u *bun.UpdateQuery) *bun.UpdateQuery {
		return u.Set("state = ?", StateRetryable).Set("last_error = ?", msg).Set("run_at = ?", runAt)
	})
}

// Snooze puts the job back to run after d without using an attempt: the
// claim's increment is undone. For rate limits (429 with Retry-After) and
// other "not now" answers that say nothing about the job itself.
func (q *Queue) Snooze(ctx context.Context, job Job, d time.Duration) error {
	runAt := ts(q.now().Add(max(0, d)))
	return q.settle(ctx, "snooze", job, func(u *bun.UpdateQuery) *bun.UpdateQuery {
		return u.Set("state = ?", StateAvailable).Set("attempt = attempt - 1").Set("run_at = ?", runAt)
	})
}

// Cancel ends the job for good (a permanent error, a revoked pre-save),
// keeping reason as last_error.
func (q *Queue) Cancel(ctx context.Context, job Job, reason error) error {
	msg := errorText(reason)
	return q.settle(ctx, "cancel", job, func(u *bun.UpdateQuery) *bun.UpdateQuery {
		return u.Set("state = ?", StateCancelled).Set("last_error = ?", msg).Set("finalized_at = ?", q.now())
	})
}

// Rescue returns running jobs whose lease has expired (their worker died or
// hung) to the queue as retryable, runnable now, or discards them when they
// have used all their attempts. The lost run counts as an attempt. It returns
// the number of jobs rescued or discarded.
func (q *Queue) Rescue(ctx context.Context) (int, error) {
	now := q.now()
	// ELSE finalized_at (NULL while running) rather than ELSE NULL: the
	// column gives the CASE its type on PostgreSQL.
	res, err := q.DB.NewUpdate().Table("jobs").
		Set("state = CASE WHEN attempt >= max_attempts THEN ? ELSE ? END", StateDiscarded, StateRetryable).
		Set("finalized_at = CASE WHEN attempt >= max_attempts THEN ? ELSE finalized_at END", now).
		Set("run_at = ?", now).
		Set("locked_until = NULL").
		Set("last_error = ?", RescuedError).
		Set("updated_at = ?", now).
		Where("state = ?", StateRunning).
		Where("locked_until < ?", now).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("jobs: rescue: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("jobs: rescue: %w", err)
	}
	return int(n), nil
}

// Get returns one job; an unknown id is store.ErrNotFound.
func (q *Queue) Get(ctx context.Context, id int64) (*Job, error) {
	j := new(Job)
	if err := q.DB.NewSelect().Model(j).Where("id = ?", id).Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, fmt.Errorf("jobs: get job %d: %w", id, store.ErrNotFound)
		}
		return nil, fmt.Errorf("jobs: get job %d: %w", id, err)
	}
	return j, nil
}

// Counts returns the number of jobs in each state (every state is present,
// zero included), over the given kinds or over all jobs when none are given.
func (q *Queue) Counts(ctx context.Context, kinds ...string) (map[string]int, error) {
	var rows []struct {
		State string `bun:"state"`
		N     int    `bun:"n"`
	}
	sel := q.DB.NewSelect().Table("jobs").ColumnExpr("state, count(*) AS n").Group("state")
	if len(kinds) > 0 {
		sel = sel.Where("kind IN (?)", bun.In(kinds))
	}
	if err := sel.Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("jobs: counts: %w", err)
	}
	counts := make(map[string]int, len(States))
	for _, s := range States {
		counts[s] = 0
	}
	for _, r := range rows {
		counts[r.State] = r.N
	}
	return counts, nil
}

// DeleteFinalizedBefore removes completed, discarded and cancelled jobs that
// reached that state before t, and returns how many it removed. A removed
// job's unique key can be enqueued again.
func (q *Queue) DeleteFinalizedBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := q.DB.NewDelete().Table("jobs").
		Where("state IN (?)", bun.In([]string{StateCompleted, StateDiscarded, StateCancelled})).
		Where("finalized_at < ?", ts(t)).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("jobs: delete finalized: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("jobs: delete finalized: %w", err)
	}
	return n, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// errorText is the last_error kept for err.
func errorText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return cleanText(err.Error())
}

// cleanText bounds a last_error and makes it valid UTF-8 without NUL bytes
// (which neither database stores in TEXT).
func cleanText(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "?"), "\x00", "?")
	if len(s) <= maxErrorLen {
		return s
	}
	s = s[:maxErrorLen]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
