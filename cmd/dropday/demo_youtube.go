package main

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/platform/registry"
	"github.com/dropday/dropday/internal/platform/youtube/youtubetest"
)

// startYouTubeStandIn starts the Google/YouTube stand-in on its own loopback
// port, with a consent page and two fake fans, and turns on YouTube Music
// direct pre-save for it.
func startYouTubeStandIn(cfg *config.Config) (*youtubetest.Server, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("demo: start the YouTube stand-in: %w", err)
	}
	yt := youtubetest.NewHandler(youtubetest.Options{
		RedirectURL: cfg.URL(registry.CallbackPath("youtube_music")),
		ConsentPage: true,
		Users: []youtubetest.User{
			{ID: "alex", Name: "Alex", Email: "alex@example.com", ChannelID: "UCalexDemoChannel0000000"},
			{ID: "sam", Name: "Sam", Email: "sam@example.com", ChannelID: "UCsamDemoChannel00000000"},
		},
	})
	yt.URL = "http://" + ln.Addr().String()
	srv := &http.Server{Handler: yt, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	cfg.YouTube = config.YouTube{ClientID: yt.ClientID(), ClientSecret: yt.ClientSecret(),
		AuthURL: yt.URL + youtubetest.AuthPath, TokenURL: yt.URL + youtubetest.TokenPath, APIURL: yt.URL, Rate: cfg.YouTube.Rate}
	return yt, func() { yt.Close(); _ = srv.Close() }, nil
}
