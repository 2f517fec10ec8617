// Package jobs is dropday's durable work queue: a table of jobs in the same
// database as everything else (SQLite or PostgreSQL), claimed by workers.
//
// # States
//
//   - available: waiting for its run_at; claimable once run_at <= now.
//   - running: claimed by a worker, which holds a lease until locked_until.
//   - retryable: failed (or its worker died) and will run again at run_at;
//     claimable exactly like available.
//   - completed: the handler succeeded. Final.
//   - discarded: failed max_attempts times; last_error says why. Final.
//   - cancelled: the handler (or an operator) said it can never succeed. Final.
//
// Final rows are kept so the admin panel can show outcomes;
// DeleteFinalizedBefore is the housekeeping that removes them.
//
// # Guarantees
//
// Enqueue takes a bun.IDB, so a job is written in the caller's transaction
// together with the domain row it is about: both commit or neither does. A
// unique key (for example "deliver:presave:123") is enqueued at most once
// while its row exists.
//
// Execution is at least once: a worker that dies while running a job leaves
// it running until its lease expires, then Rescue puts it back, and another
// worker runs it again. Handlers must therefore be idempotent (or check the
// domain row first).
//
// Completion accounting is exactly once: every claim increments attempt, and
// Complete, Retry, Snooze and Cancel only act on a row that is still running
// with the attempt number the worker claimed. A worker whose lease was lost
// (rescued and claimed again by someone else) gets ErrLost instead of
// finishing the job a second time.
//
// Claiming is atomic on both databases: PostgreSQL locks the chosen rows with
// FOR UPDATE SKIP LOCKED, so concurrent claimers skip each other's rows
// instead of waiting; SQLite runs the claim as one UPDATE … RETURNING, which
// holds the database's single write lock from start to end.
//
// A process killed mid-run (kill -9) loses nothing: its jobs stay running
// until their lease (Queue.Lease, 5 minutes by default) expires, then the
// next Rescue makes them retryable. Their late outcome, should the process
// somehow finish them, is refused as above.
//
// # Using it
//
// A Queue (DB, a clock, a lease) claims and settles jobs; a Runner claims
// batches for the kinds it has handlers for, runs them concurrently, maps
// each handler's error to Complete, Retry, Snooze (jobs.Snooze(d)) or Cancel
// (jobs.Cancel(err)), rescues expired leases, and on stop lets the jobs in
// flight finish. Every time the queue writes or compares comes from
// Queue.Now (Enqueue takes now from its caller), so tests drive it with a
// fake clock; times are stored in UTC to the microsecond.
package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Job states, as stored in jobs.state.
const (
	StateAvailable = "available"
	StateRunning   = "running"
	StateRetryable = "retryable"
	StateCompleted = "completed"
	StateDiscarded = "discarded"
	StateCancelled = "cancelled"
)

// States lists every state, queued ones first.
var States = []string{StateAvailable, StateRunning, StateRetryable, StateCompleted, StateDiscarded, StateCancelled}

// DefaultMaxAttempts is the number of runs a job gets unless Opts says otherwise.
const DefaultMaxAttempts = 10

// Job is one row of the jobs table.
type Job struct {
	bun.BaseModel `bun:"table:jobs"`

	ID   int64  `bun:"id,pk,autoincrement"`
	Kind string `bun:"kind,notnull"`
	// Payload is the JSON the job was enqueued with; see Decode.
	Payload     string    `bun:"payload,notnull"`
	State       string    `bun:"state,notnull"`
	Attempt     int       `bun:"attempt,notnull"`
	MaxAttempts int       `bun:"max_attempts,notnull"`
	RunAt       time.Time `bun:"run_at,notnull"`
	// LockedUntil is the end of a running job's lease; zero otherwise.
	LockedUntil time.Time `bun:"locked_until,nullzero"`
	LastError   string    `bun:"last_error,notnull"`
	// UniqueKey is empty (NULL) for jobs enqueued without one.
	UniqueKey   string    `bun:"unique_key,nullzero"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	UpdatedAt   time.Time `bun:"updated_at,notnull"`
	FinalizedAt time.Time `bun:"finalized_at,nullzero"`
	// ClaimedBy is the instance (Queue.Instance) that last claimed the job;
	// for a completed job, the one that finished it. Empty if never claimed.
	ClaimedBy string `bun:"claimed_by,nullzero"`
}

// Decode unmarshals the job's payload into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal([]byte(j.Payload), v); err != nil {
		return fmt.Errorf("jobs: decode %s payload of job %d: %w", j.Kind, j.ID, err)
	}
	return nil
}

// Final reports whether the job reached a state it never leaves.
func (j *Job) Final() bool {
	return j.State == StateCompleted || j.State == StateDiscarded || j.State == StateCancelled
}

// Opts are the optional settings of an enqueued job.
type Opts struct {
	// UniqueKey, when set, makes a second enqueue of the same key a no-op
	// for as long as the first job's row exists (whatever its state).
	UniqueKey string
	// RunAt delays the job; zero means now.
	RunAt time.Time
	// MaxAttempts is the number of runs before the job is discarded;
	// zero means DefaultMaxAttempts.
	MaxAttempts int
}

// Item is one job of an EnqueueMany batch.
type Item struct {
	Kind    string
	Payload any
	Opts    Opts
}

// ts is how every time is written: UTC, to the microsecond, which is what
// both databases keep, so Go-side and stored values compare alike.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func newRow(now time.Time, kind string, payload any, opts Opts) (*Job, error) {
	if kind == "" {
		return nil, fmt.Errorf("jobs: enqueue: empty kind")
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("jobs: enqueue %s: encode payload: %w", kind, err)
	}
	if opts.MaxAttempts < 0 {
		return nil, fmt.Errorf("jobs: enqueue %s: negative max attempts", kind)
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	now = ts(now)
	runAt := now
	if !opts.RunAt.IsZero() {
		runAt = ts(opts.RunAt)
	}
	return &Job{Kind: kind, Payload: string(b), State: StateAvailable, MaxAttempts: opts.MaxAttempts,
		RunAt: runAt, UniqueKey: opts.UniqueKey, CreatedAt: now, UpdatedAt: now}, nil
}

// Enqueue adds a job whose payload is payload encoded by encoding/json (a
// json.RawMessage is stored compacted). Pass the caller's transaction as db so the
// job commits (or rolls back) with the domain write it belongs to. A job whose unique key
// is already taken is not inserted: inserted is false, err is nil and id is
// the existing job's (0 if that row is not visible to db, for example because
// a concurrent transaction that holds it rolled back).
func Enqueue(ctx context.Context, db bun.IDB, now time.Time, kind string, payload any, opts Opts) (id int64, inserted bool, err error) {
	j, err := newRow(now, kind, payload, opts)
	if err != nil {
		return 0, false, err
	}
	res, err := db.NewInsert().Model(j).ExcludeColumn("id").
		On("CONFLICT (unique_key) DO NOTHING").Returning("id").Exec(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("jobs: enqueue %s: %w", kind, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, false, fmt.Errorf("jobs: enqueue %s: %w", kind, err)
	}
	if n == 1 {
		return j.ID, true, nil
	}
	err = db.NewSelect().Model((*Job)(nil)).Column("id").Where("unique_key = ?", j.UniqueKey).Scan(ctx, &id)
	if err != nil && !isNoRows(err) {
		return 0, false, fmt.Errorf("jobs: enqueue %s: find job with key %q: %w", kind, j.UniqueKey, err)
	}
	return id, false, nil
}

// BatchSize is the number of rows EnqueueMany writes per INSERT statement.
const BatchSize = 500

// EnqueueMany adds many jobs, BatchSize rows per statement, and returns how
// many were inserted (items whose unique key is taken, including by an
// earlier item of the same call, are skipped). Like Enqueue it runs on db,
// so pass a transaction to make the whole set atomic.
func EnqueueMany(ctx context.Context, db bun.IDB, now time.Time, items []Item) (inserted int, err error) {
	rows := make([]*Job, 0, min(len(items), BatchSize))
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		res, err := db.NewInsert().Model(&rows).ExcludeColumn("id").
			On("CONFLICT (unique_key) DO NOTHING").Returning("NULL").Exec(ctx)
		if err != nil {
			return fmt.Errorf("jobs: enqueue many: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("jobs: enqueue many: %w", err)
		}
		inserted += int(n)
		rows = rows[:0]
		return nil
	}
	for _, it := range items {
		j, err := newRow(now, it.Kind, it.Payload, it.Opts)
		if err != nil {
			return inserted, err
		}
		rows = append(rows, j)
		if len(rows) == BatchSize {
			if err := flush(); err != nil {
				return inserted, err
			}
		}
	}
	if err := flush(); err != nil {
		return inserted, err
	}
	return inserted, nil
}

// CancelQueued cancels the job with this unique key if it has not started:
// available or retryable. It takes a bun.IDB so it can run in the
// transaction that makes the job pointless (a fan revoking a pre-save). It
// reports whether a job was cancelled; a running job is left to its handler,
// which should find the domain row changed and return Cancel.
func CancelQueued(ctx context.Context, db bun.IDB, now time.Time, uniqueKey, reason string) (bool, error) {
	now = ts(now)
	res, err := db.NewUpdate().Model((*Job)(nil)).
		Set("state = ?", StateCancelled).
		Set("last_error = ?", cleanText(reason)).
		Set("finalized_at = ?", now).
		Set("updated_at = ?", now).
		Where("unique_key = ?", uniqueKey).
		Where("state IN (?)", bun.In([]string{StateAvailable, StateRetryable})).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("jobs: cancel queued %q: %w", uniqueKey, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("jobs: cancel queued %q: %w", uniqueKey, err)
	}
	return n > 0, nil
}
