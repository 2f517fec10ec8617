package broadcast

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/yuin/goldmark"

	"github.com/dropday/dropday/internal/artwork"
	"github.com/dropday/dropday/internal/mail"
	"github.com/dropday/dropday/models"
	"github.com/dropday/dropday/views/email"
)

// Letter is everything one recipient's email is made of. Rendering it twice
// gives the same bytes: a batch retried after a crash must be the same
// request, or the provider's idempotency key refuses it.
type Letter struct {
	Broadcast *models.Broadcast
	Link      *models.Link
	// To, Platform: the recipient and their preferred platform ("" = none).
	To, Platform string
	// Unsubscribe and Revoke are the recipient's raw tokens ("" = no revoke link).
	Unsubscribe, Revoke string
	// BodyHTML is the rendered body when the caller has it already (it is
	// the same for every recipient of a batch); "" renders it.
	BodyHTML string
}

// token derives a recipient's link token from the server secret: unguessable,
// and the same every time the batch is rendered, so nothing random has to be
// stored in the clear. Only its hash is stored, for the lookup.
func token(secret []byte, kind string, broadcastID, id int64) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%s:%d:%d", kind, broadcastID, id)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// markdown renders the artist's text; raw HTML in it is escaped (goldmark's default).
var markdown = goldmark.New()

// bodyHTML renders a broadcast's body as HTML.
func bodyHTML(b *models.Broadcast) (string, error) {
	if b.BodyFormat == models.FormatText {
		var out strings.Builder
		for _, para := range strings.Split(strings.ReplaceAll(b.Body, "\r\n", "\n"), "\n\n") {
			if strings.TrimSpace(para) == "" {
				continue
			}
			out.WriteString(`<p style="margin:0 0 16px 0;">`)
			out.WriteString(strings.ReplaceAll(escape(para), "\n", "<br>"))
			out.WriteString("</p>")
		}
		return out.String(), nil
	}
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(b.Body), &buf); err != nil {
		return "", fmt.Errorf("broadcast: markdown: %w", err)
	}
	return buf.String(), nil
}

func escape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}

// Render builds one recipient's message: HTML and text parts, the one-click
// unsubscribe headers (RFC 8058), and the button to their platform.
func (s *Service) Render(ctx context.Context, l Letter) (mail.Message, error) {
	body := l.BodyHTML
	if body == "" {
		var err error
		if body, err = bodyHTML(l.Broadcast); err != nil {
			return mail.Message{}, err
		}
	}
	unsub := s.BaseURL + "/unsubscribe/" + l.Unsubscribe
	revoke := ""
	if l.Revoke != "" {
		revoke = s.BaseURL + "/revoke/" + l.Revoke
	}
	listen, button := s.listenURL(l.Link, l.Platform)
	art := ""
	if u := artwork.URL(l.Link.Artwork, 640); u != "" {
		art = s.BaseURL + u
	}
	v := email.Broadcast{
		Subject: l.Broadcast.Subject, Preheader: l.Link.Artist + " — " + l.Link.Title,
		Artist: l.Link.Artist, Title: l.Link.Title, ArtworkURL: art, BodyHTML: body,
		ButtonText: button, ButtonURL: listen, UnsubscribeURL: unsub, RevokeURL: revoke,
		Reason: "You get this because you signed up for " + l.Link.Artist + "'s “" + l.Link.Title + "”.",
		// The data page proven by this email's unsubscribe token: see, download or erase.
		PrivacyURL: s.BaseURL + "/privacy/" + url.PathEscape(l.Link.Slug) + "/data/u." + l.Unsubscribe,
	}
	var html bytes.Buffer
	if err := email.BroadcastHTML(v).Render(ctx, &html); err != nil {
		return mail.Message{}, fmt.Errorf("broadcast: render: %w", err)
	}
	return mail.Message{
		From: s.From, To: []string{l.To}, Subject: l.Broadcast.Subject,
		HTML: html.String(), Text: textPart(l.Broadcast, v),
		Headers: map[string]string{
			"List-Unsubscribe":      "<" + unsub + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
		// The workspace tag files the email under the artist's workspace (the outbox shows it there).
		Tags: []mail.Tag{{Name: "broadcast", Value: fmt.Sprint(l.Broadcast.ID)}, mail.WorkspaceTag(l.Broadcast.WorkspaceID)},
	}, nil
}

// listenURL is the main button: the smart link with the fan's platform
// selected (until release resolution exists, the link's page with it noted).
func (s *Service) listenURL(l *models.Link, platform string) (string, string) {
	u := s.BaseURL + "/" + url.PathEscape(l.Slug)
	q := url.Values{"utm_source": {"email"}}
	text := "Listen now"
	if p, ok := models.PlatformByKey(platform); ok {
		q.Set("platform", p.Key)
		text = "Listen on " + p.Name
	}
	return u + "?" + q.Encode(), text
}

// textPart is the plain-text alternative: the same words and links.
func textPart(b *models.Broadcast, v email.Broadcast) string {
	var t strings.Builder
	fmt.Fprintf(&t, "%s — %s\n\n", v.Artist, v.Title)
	t.WriteString(strings.TrimSpace(strings.ReplaceAll(b.Body, "\r\n", "\n")))
	fmt.Fprintf(&t, "\n\n%s: %s\n\n-- \n%s\nUnsubscribe: %s\n", v.ButtonText, v.ButtonURL, v.Reason, v.UnsubscribeURL)
	if v.RevokeURL != "" {
		fmt.Fprintf(&t, "Undo your pre-save: %s\n", v.RevokeURL)
	}
	fmt.Fprintf(&t, "Privacy & your data: %s\n", v.PrivacyURL)
	return t.String()
}
