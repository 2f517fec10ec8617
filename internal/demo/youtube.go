package demo

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/dropday/dropday/internal/platform/youtube/youtubetest"
	"github.com/dropday/dropday/internal/store"
)

// YouTubeVideoID is the demo release's video on the YouTube stand-in.
const YouTubeVideoID = "nDr1v3M4r4L"

// ListYouTube puts the demo release's video on the YouTube stand-in and
// gives the demo link its YouTube Music address: the stand-in's own watch
// page, so the smart link's button stays on this machine, and the address
// release-day delivery likes the video from (YouTube has no look-up).
func ListYouTube(ctx context.Context, db bun.IDB, yt *youtubetest.Server) error {
	yt.AddVideo(youtubetest.Video{ID: YouTubeVideoID, Title: "Night Drive", Artist: "Mara Lune"})
	l, err := store.LinkBySlug(ctx, db, Slug)
	if err != nil {
		return err
	}
	return store.SetManualURL(ctx, db, l.ID, "youtube_music", yt.WatchURL(YouTubeVideoID))
}
