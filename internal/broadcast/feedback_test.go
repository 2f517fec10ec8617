package broadcast_test

import (
	"testing"

	"github.com/dropday/dropday/internal/broadcast"
	"github.com/dropday/dropday/models"
)

func TestCanMove(t *testing.T) {
	const (
		q, s, d, o, c = models.RecipientQueued, models.RecipientSent, models.RecipientDelivered, models.RecipientOpened, models.RecipientClicked
		b, x, f       = models.RecipientBounced, models.RecipientComplained, models.RecipientFailed
	)
	cases := []struct {
		from, to string
		want     bool
	}{
		{q, s, true}, {s, d, true}, {d, o, true}, {o, c, true}, {s, c, true},
		{o, d, false}, {c, o, false}, {d, d, false}, {d, s, false},
		{d, b, true}, {c, x, true}, {b, x, true},
		{x, o, false}, {x, d, false}, {x, b, false}, {b, o, false}, {b, c, false}, {f, d, false}, {b, b, false},
		{"nonsense", d, false}, {d, "nonsense", false},
	}
	for _, tc := range cases {
		if got := broadcast.CanMove(tc.from, tc.to); got != tc.want {
			t.Errorf("CanMove(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}
