package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dropday/dropday/internal/audit"
	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/testdb"
	"github.com/dropday/dropday/models"
)

// syncBuffer is a log sink the server writes to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestServePrintsSetupURLAndShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"DROPDAY_ADDR":     "127.0.0.1:0",
		"DROPDAY_DATA_DIR": dir,
		// The default sqlite URL is relative to the working directory; keep the test's own.
		"DROPDAY_DATABASE_URL": "sqlite://" + filepath.Join(dir, "dropday.db"),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, logs, done := startServe(t, ctx, env)
	if !regexp.MustCompile(`setup_url="?http://127\.0\.0\.1:8080/setup\?token=[A-Za-z0-9_-]{40,}`).MatchString(logs.String()) {
		t.Fatalf("no setup URL in the log:\n%s", logs.String())
	}
	st, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret.key: %v, mode %v; want 0600", err, st)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		res, err := http.Get("http://" + addr + p)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, res, err)
		}
		res.Body.Close()
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("serve did not stop after the signal")
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Fatalf("no clean stop in the log:\n%s", logs.String())
	}
}

func TestCommands(t *testing.T) {
	_, dbURL := testdb.SQLite(t)
	env := envOf(map[string]string{"DROPDAY_DATABASE_URL": dbURL, "DROPDAY_DATA_DIR": t.TempDir()})
	ctx := context.Background()
	var out bytes.Buffer

	if err := run(ctx, []string{"version"}, env, nil, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "dropday ") {
		t.Fatalf("version: %q %v", out.String(), err)
	}
	if err := run(ctx, []string{"migrate"}, env, nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := run(ctx, []string{"migrate", "-unlock"}, env, nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("migrate -unlock: %v", err)
	}

	// Bad input is refused with the reasons, and creates nothing.
	err := run(ctx, []string{"user", "create", "-email", "bad", "-workspace", ""}, env, strings.NewReader("short\n"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-email") || !strings.Contains(err.Error(), "-password") || !strings.Contains(err.Error(), "-workspace") {
		t.Fatalf("bad user create: %v", err)
	}
	out.Reset()
	err = run(ctx, []string{"user", "create", "-email", "mara@example.com", "-workspace", "Mara Lune", "-password-stdin"}, env,
		strings.NewReader("a long enough password\n"), &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), "(id 1)") {
		t.Fatalf("user create: %q %v", out.String(), err)
	}
	err = run(ctx, []string{"user", "create", "-email", "mara@example.com", "-workspace", "Again"}, env,
		strings.NewReader("a long enough password\n"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("duplicate user create: %v", err)
	}

	// user password: a new password for an existing account, read from stdin; every session ends.
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	if err := store.CreateSession(ctx, db, &models.Session{TokenHash: "h1", UserID: 1, WorkspaceID: 1,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"user", "password", "-email", "nobody@example.com", "-password-stdin"}, env,
		strings.NewReader("another long password\n"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "No account") {
		t.Fatalf("password of a missing account: %v", err)
	}
	err = run(ctx, []string{"user", "password", "-email", "mara@example.com", "-password-stdin"}, env,
		strings.NewReader("short\n"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-password") {
		t.Fatalf("short password: %v", err)
	}
	out.Reset()
	err = run(ctx, []string{"user", "password", "-email", "Mara@Example.com", "-password-stdin"}, env,
		strings.NewReader("another long password\n"), &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), "ended 1 session") {
		t.Fatalf("user password: %q %v", out.String(), err)
	}
	u, err := store.UserByEmail(ctx, db, "mara@example.com")
	if err != nil {
		t.Fatal(err)
	}
	h := auth.NewHasher(bcrypt.MinCost)
	if h.Check(u.PasswordHash, "another long password") != nil || h.Check(u.PasswordHash, "a long enough password") == nil {
		t.Fatal("the password did not change")
	}
	if n, _ := db.NewSelect().Table("sessions").Count(ctx); n != 0 {
		t.Fatalf("%d sessions left after the password change", n)
	}

	out.Reset()
	if err := run(ctx, []string{"token", "create", "-workspace", "1", "-name", "website"}, env, nil, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "dd_") {
		t.Fatalf("token create: %q %v", out.String(), err)
	}
	if err := run(ctx, []string{"token", "create", "-workspace", "99", "-name", "x"}, env, nil, io.Discard, io.Discard); err == nil {
		t.Fatal("token for a missing workspace was created")
	}

	out.Reset()
	if err := run(ctx, []string{"keys", "rotate"}, env, nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "Re-wrapped 0 credentials under key 1") {
		t.Fatalf("keys rotate: %q %v", out.String(), err)
	}
	// The rotation is in the audit log, instance-wide, by the CLI.
	var entries []models.AuditEntry
	if err := db.NewSelect().Model(&entries).Where("action = ?", audit.KeysRotate).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Actor != "cli" || entries[0].ActorKind != models.ActorCLI || entries[0].WorkspaceID != nil ||
		!strings.Contains(entries[0].Detail, "rewrapped=0") || entries[0].UserAgent != "dropday keys rotate" {
		t.Fatalf("audit entries after keys rotate: %+v", entries)
	}

	if err := run(ctx, []string{"frobnicate"}, env, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
	bad := envOf(map[string]string{"DROPDAY_BASE_URL": "nope"})
	if err := run(ctx, []string{"serve"}, bad, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "DROPDAY_BASE_URL") {
		t.Fatalf("bad config: %v", err)
	}
}

// startServe runs `dropday serve` with env until ctx ends and waits until it
// listens; it returns the address, the captured logs and run's result.
func startServe(t *testing.T, ctx context.Context, env map[string]string) (string, *syncBuffer, <-chan error) {
	t.Helper()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), strings.NewReader(""), io.Discard, logs) }()
	addrRE := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(logs.String()); m != nil {
			return m[1], logs, done
		}
	}
	t.Fatalf("server did not start:\n%s", logs.String())
	return "", nil, nil
}
