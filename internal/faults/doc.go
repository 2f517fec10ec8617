// Package faults holds the fault tests of release day: the real `dropday
// serve` binary runs as a child process against the Spotify and Resend
// stand-ins, is killed with SIGKILL in the middle of delivering, and is
// started again on the same database. What must survive is what the database
// holds: every pre-save delivered and every email received exactly once,
// with repeats bounded by the work that was in flight at the kill.
//
// The package has only tests; they run on SQLite and, with
// DROPDAY_TEST_POSTGRES_DSN set, on PostgreSQL.
package faults
