package release

import (
	"context"
	"testing"

	"github.com/dropday/dropday/internal/testdb"
)

// The leader's session asks PostgreSQL for TCP keepalives, so a holder
// whose machine vanishes (no FIN) loses the lock in about 25 s, not hours.
func TestPGElectorKeepalives(t *testing.T) {
	_, dbURL := testdb.Postgres(t)
	e := &PGElector{DB: testdb.OpenRaw(t, dbURL)}
	ctx := context.Background()
	if err := e.IsLeader(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for name, want := range map[string]string{"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"} {
		var got string
		if err := e.con.QueryRowContext(ctx, "SHOW "+name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q on the leader's session, want %q", name, got, want)
		}
	}
}
