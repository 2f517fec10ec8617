package validate

import "testing"

func TestPlatformURL(t *testing.T) {
	good := []struct{ platform, in, want string }{
		{"spotify", " https://open.spotify.com/album/1DFixLWuPkv3KT3TnV35m3?si=a ", "https://open.spotify.com/album/1DFixLWuPkv3KT3TnV35m3?si=a"},
		{"apple_music", "https://music.apple.com/us/album/night-drive/1577502911", "https://music.apple.com/us/album/night-drive/1577502911"},
		{"deezer", "https://www.deezer.com/album/302127", "https://www.deezer.com/album/302127"},
		{"deezer", "https://deezer.page.link/abc", "https://deezer.page.link/abc"},
		{"tidal", "https://tidal.com/browse/album/75413016", "https://tidal.com/browse/album/75413016"},
		{"tidal", "https://listen.tidal.com/album/75413016", "https://listen.tidal.com/album/75413016"},
		{"youtube_music", "https://music.youtube.com/playlist?list=OLAK5uy_x", "https://music.youtube.com/playlist?list=OLAK5uy_x"},
		{"youtube", "https://youtu.be/dQw4w9WgXcQ", "https://youtu.be/dQw4w9WgXcQ"},
		{"youtube", "HTTP://WWW.YouTube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"},
		{"amazon_music", "https://music.amazon.com/albums/B0C1", "https://music.amazon.com/albums/B0C1"},
		{"amazon_music", "https://music.amazon.co.uk/albums/B0C1", "https://music.amazon.co.uk/albums/B0C1"},
		{"soundcloud", "https://soundcloud.com/mara-lune/night-drive", "https://soundcloud.com/mara-lune/night-drive"},
		{"soundcloud", "https://on.soundcloud.com/xyz", "https://on.soundcloud.com/xyz"},
		{"spotify", "", ""},
	}
	for _, c := range good {
		got, msg := PlatformURL(c.platform, c.in)
		if msg != "" || got != c.want {
			t.Errorf("%s %q: got %q, %q; want %q", c.platform, c.in, got, msg, c.want)
		}
	}
	bad := []struct{ platform, in string }{
		{"spotify", "javascript:alert(1)"},
		{"spotify", "ftp://open.spotify.com/album/x"},
		{"spotify", "open.spotify.com/album/x"},
		{"spotify", "night drive"},
		{"spotify", "https://evil.example/open.spotify.com"},
		{"spotify", "https://open.spotify.com.evil.example/album/x"},
		{"spotify", "https://open.spotify.com@evil.example/album/x"},
		{"spotify", "https://user:pw@open.spotify.com/album/x"},
		{"spotify", "https://open.spotify.com:8443/album/x"},
		{"spotify", "https://music.apple.com/us/album/x"},
		{"apple_music", "https://open.spotify.com/album/x"},
		{"amazon_music", "https://music.amazon.evil.example.com/x"},
		{"amazon_music", "https://music.amazon/x"},
		{"youtube", "//youtube.com/watch?v=x"},
		{"youtube", "data:text/html,<script>"},
		{"other", "https://example.com"},
		{"nope", "https://open.spotify.com/album/x"},
	}
	for _, c := range bad {
		if got, msg := PlatformURL(c.platform, c.in); msg == "" || got != "" {
			t.Errorf("%s %q accepted as %q", c.platform, c.in, got)
		}
	}
}
