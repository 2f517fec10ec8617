package spotify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/dropday/dropday/internal/platform"
	"github.com/dropday/dropday/internal/platform/spotify"
	"github.com/dropday/dropday/internal/platform/spotify/spotifytest"
)

// Example wires the client to the stand-in the way tests and `dropday demo`
// do: one base URL for both accounts and API.
func Example() {
	fake := spotifytest.New(spotifytest.Options{RedirectURL: "http://127.0.0.1:8080/oauth/spotify/callback"})
	defer fake.Close()
	fake.AddAlbum(spotifytest.Album{ID: "4aawyAB9vmqN3uQ7FjRGTy", Name: "Night Drive", Artist: "The Examples", UPC: "602445790098"})

	client := spotify.New(spotify.Config{
		ClientID:     fake.ClientID(),
		ClientSecret: fake.ClientSecret(),
		RedirectURL:  "http://127.0.0.1:8080/oauth/spotify/callback",
		AccountsURL:  fake.URL,
		APIURL:       fake.URL,
		HTTPClient:   &http.Client{},
	})
	ctx := context.Background()

	// The fan's browser: the stand-in consents at once and redirects back.
	verifier := oauth2.GenerateVerifier()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(client.AuthorizeURL("state", verifier, []string{spotify.ScopeLibraryModify}))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))

	tok, err := client.Exchange(ctx, cb.Query().Get("code"), verifier)
	if err != nil {
		panic(err)
	}
	rel, err := client.Lookup(ctx, platform.Source{Kind: "upc", Value: "602445790098"})
	if err != nil {
		panic(err)
	}
	if err := client.Save(ctx, tok.AccessToken, rel.Items); err != nil {
		panic(err)
	}
	fmt.Println(rel.Name, rel.Items, fake.SavedBy("fan1"))
	// Output: Night Drive [spotify:album:4aawyAB9vmqN3uQ7FjRGTy] [spotify:album:4aawyAB9vmqN3uQ7FjRGTy]
}
