package handlers

import (
	"context"
	"time"

	"github.com/dropday/dropday/internal/release"
	"github.com/dropday/dropday/internal/resolve"
	"github.com/dropday/dropday/models"
)

// youtubeKey is YouTube Music's platform key.
const youtubeKey = "youtube_music"

// youtubeQuotaUntil is when YouTube Music deliveries resume after the day's
// quota ran out (recorded by the deliverer for every instance); zero when
// they are not waiting or YouTube Music is not direct here.
func (s *Server) youtubeQuotaUntil(ctx context.Context) (time.Time, error) {
	if !s.Presave.Enabled(youtubeKey) {
		return time.Time{}, nil
	}
	return release.PausedUntil(ctx, s.DB, youtubeKey, s.Now())
}

// youtubeVideo is the video a YouTube Music delivery likes, read from the
// artist's addresses the way the deliverer reads them ("" when none names one).
func (s *Server) youtubeVideo(rows []models.LinkPlatform) string {
	fu, ok := s.Presave.Clients[youtubeKey].(resolve.FromURL)
	if !ok {
		return ""
	}
	if items := resolve.AddressItems(fu, rows); items != nil {
		return items[0]
	}
	return ""
}
