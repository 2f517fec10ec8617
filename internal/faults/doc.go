// Package faults holds the fault tests of release day and of a scaled-out
// deployment: the real `dropday serve` binary runs as child processes
// against the Spotify and Resend stand-ins, is killed with SIGKILL in the
// middle of delivering (once, repeatedly, one instance of three at a time),
// loses its database for a while (a TCP proxy that drops and refuses
// connections), talks to a stand-in answering 429s, 500s and hanging, and
// serves an admin and a fan through a round-robin balancer. What must
// survive is what the database holds: every pre-save delivered and every
// email received exactly once, with repeats bounded by the work that was in
// flight at the kill.
//
// The package has only tests; they run on SQLite and, with
// DROPDAY_TEST_POSTGRES_DSN set, on PostgreSQL (the multi-instance ones on
// PostgreSQL only). The whole package takes about three minutes.
package faults
