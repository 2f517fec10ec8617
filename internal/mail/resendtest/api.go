package resendtest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"
)

// maxBody is Resend's request size limit (attachments included).
const maxBody = 40 << 20

// idemEntry is what an Idempotency-Key remembers: the request it was first
// used for and, once that finished, its answer.
type idemEntry struct {
	fingerprint [sha256.Size]byte
	created     time.Time
	done        bool
	body        []byte
}

// wireEmail is one email as POST /emails and /emails/batch carry it.
type wireEmail struct {
	From        string            `json:"from"`
	To          stringList        `json:"to"`
	Cc          stringList        `json:"cc"`
	Bcc         stringList        `json:"bcc"`
	ReplyTo     stringList        `json:"reply_to"`
	Subject     string            `json:"subject"`
	HTML        string            `json:"html"`
	Text        string            `json:"text"`
	Headers     map[string]string `json:"headers"`
	Tags        []Tag             `json:"tags"`
	Attachments json.RawMessage   `json:"attachments"`
	ScheduledAt string            `json:"scheduled_at"`
	Template    json.RawMessage   `json:"template"`
}

// stringList is a field Resend takes as a string or a list of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		return json.Unmarshal(b, (*[]string)(l))
	}
	var one string
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	if one != "" {
		*l = stringList{one}
	}
	return nil
}

// apiError is an error answer: {statusCode,name,message}.
type apiError struct {
	status  int
	name    string
	message string
}

func writeError(w http.ResponseWriter, status int, name, message string) {
	writeJSON(w, status, map[string]any{"statusCode": status, "name": name, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"statusCode":500,"name":"internal_server_error","message":"encode"}`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

func itoa(n int) string { return strconv.Itoa(n) }

// handleSend serves POST /emails (batch false) and POST /emails/batch.
func (s *Server) handleSend(w http.ResponseWriter, r *http.Request, batch bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return // the client went away mid-body
	}
	if len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "validation_error", "Request body is larger than 40MB.")
		return
	}
	key, hasKey := idempotencyKey(r)
	if hasKey && (key == "" || len(key) > MaxIdempotencyKey) {
		writeError(w, http.StatusBadRequest, "invalid_idempotency_key", "The key must be between 1-256 chars.")
		return
	}

	var entry *idemEntry
	if hasKey {
		var replay []byte
		var e *apiError
		entry, replay, e = s.claimKey(key, fingerprint(batch, body))
		switch {
		case e != nil:
			writeError(w, e.status, e.name, e.message)
			return
		case replay != nil:
			writeRaw(w, http.StatusOK, replay)
			return
		}
	}

	emails, permissive, errs, e := s.parseRequest(r, body, batch)
	if e != nil {
		s.releaseKey(key, entry)
		writeError(w, e.status, e.name, e.message)
		return
	}
	if !s.waitHold() {
		s.releaseKey(key, entry)
		return
	}

	ids := s.record(emails, key, batch)
	var answer any
	if batch {
		data := make([]map[string]string, len(ids))
		for i, id := range ids {
			data[i] = map[string]string{"id": id}
		}
		resp := map[string]any{"data": data}
		if permissive {
			resp["errors"] = errs
		}
		answer = resp
	} else {
		answer = map[string]string{"id": ids[0]}
	}
	out, err := json.Marshal(answer)
	if err != nil {
		s.releaseKey(key, entry)
		writeError(w, http.StatusInternalServerError, "internal_server_error", "encode")
		return
	}
	if entry != nil {
		s.mu.Lock()
		entry.done, entry.body = true, out
		s.mu.Unlock()
	}
	writeRaw(w, http.StatusOK, out)
}

func idempotencyKey(r *http.Request) (string, bool) {
	v, ok := r.Header["Idempotency-Key"]
	if !ok || len(v) == 0 {
		return "", false
	}
	return strings.TrimSpace(v[0]), true
}

// fingerprint identifies a request for its idempotency key: the endpoint and
// the body as canonical JSON, so key order and spacing do not make two
// retries of one request look different.
func fingerprint(batch bool, body []byte) [sha256.Size]byte {
	canon := body
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	h := sha256.New()
	if batch {
		h.Write([]byte("batch\n"))
	} else {
		h.Write([]byte("emails\n"))
	}
	h.Write(canon)
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// claimKey looks key up. It answers the stored response to replay, a 409,
// or a new in-flight entry the caller completes or releases.
func (s *Server) claimKey(key string, fp [sha256.Size]byte) (*idemEntry, []byte, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.keysSwept) > time.Minute {
		for k, e := range s.keys {
			if e.done && now.Sub(e.created) >= IdempotencyTTL {
				delete(s.keys, k)
			}
		}
		s.keysSwept = now
	}
	e, ok := s.keys[key]
	if ok && e.done && now.Sub(e.created) >= IdempotencyTTL {
		ok = false
	}
	if !ok {
		e = &idemEntry{fingerprint: fp, created: now}
		s.keys[key] = e
		return e, nil, nil
	}
	switch {
	case e.fingerprint != fp:
		return nil, nil, &apiError{http.StatusConflict, "invalid_idempotent_request", "Same idempotency key used with a different request payload. Change your idempotency key or payload."}
	case !e.done:
		return nil, nil, &apiError{http.StatusConflict, "concurrent_idempotent_requests", "Same idempotency key used while original request is still in progress. Try the request again later."}
	}
	s.replays++
	return nil, e.body, nil
}

// releaseKey forgets an in-flight key whose request did not send, so a
// corrected retry with the same key is processed: only sends are remembered.
func (s *Server) releaseKey(key string, e *idemEntry) {
	if e == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[key] == e {
		delete(s.keys, key)
	}
}

// waitHold waits while sends are held; false if the server closed first.
func (s *Server) waitHold() bool {
	s.mu.Lock()
	ch := s.hold
	if ch == nil {
		s.mu.Unlock()
		return true
	}
	s.held++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.held--
		s.mu.Unlock()
	}()
	select {
	case <-ch:
		return true
	case <-s.closing:
		return false
	}
}

// parseRequest decodes and validates the body. For a permissive batch it
// returns the valid emails and the errors of the others.
func (s *Server) parseRequest(r *http.Request, body []byte, batch bool) (emails []wireEmail, permissive bool, errs []batchError, e *apiError) {
	if !batch {
		var one wireEmail
		if err := json.Unmarshal(body, &one); err != nil {
			return nil, false, nil, &apiError{http.StatusBadRequest, "validation_error", "Invalid JSON body: " + err.Error()}
		}
		if e := s.validate(one, false); e != nil {
			return nil, false, nil, e
		}
		return []wireEmail{one}, false, nil, nil
	}
	trimmed := bytes.TrimSpace(body)
	if !bytes.HasPrefix(trimmed, []byte("[")) {
		if json.Valid(trimmed) {
			return nil, false, nil, &apiError{http.StatusUnprocessableEntity, "validation_error", "The batch body must be an array of emails."}
		}
		return nil, false, nil, &apiError{http.StatusBadRequest, "validation_error", "Invalid JSON body."}
	}
	var all []wireEmail
	if err := json.Unmarshal(body, &all); err != nil {
		return nil, false, nil, &apiError{http.StatusBadRequest, "validation_error", "Invalid JSON body: " + err.Error()}
	}
	switch {
	case len(all) == 0:
		return nil, false, nil, &apiError{http.StatusUnprocessableEntity, "validation_error", "The batch must contain at least 1 email."}
	case len(all) > MaxBatch:
		return nil, false, nil, &apiError{http.StatusUnprocessableEntity, "validation_error", fmt.Sprintf("Too many emails in the batch: %d. The maximum is %d.", len(all), MaxBatch)}
	}
	permissive = strings.EqualFold(r.Header.Get("x-batch-validation"), "permissive")
	errs = []batchError{}
	for i, em := range all {
		if e := s.validate(em, true); e != nil {
			if !permissive {
				e.message = fmt.Sprintf("`emails[%d]`: %s", i, e.message)
				return nil, false, nil, e
			}
			errs = append(errs, batchError{Index: i, Message: e.message})
			continue
		}
		emails = append(emails, em)
	}
	return emails, permissive, errs, nil
}

type batchError struct {
	Index   int    `json:"index"`
	Message string `json:"message"`
}

// validate applies Resend's rules to one email.
func (s *Server) validate(em wireEmail, inBatch bool) *apiError {
	missing := func(field string) *apiError {
		return &apiError{http.StatusUnprocessableEntity, "missing_required_field", "Missing `" + field + "` field."}
	}
	invalid := func(msg string) *apiError {
		return &apiError{http.StatusUnprocessableEntity, "validation_error", msg}
	}
	switch {
	case strings.TrimSpace(em.From) == "":
		return missing("from")
	case len(em.To) == 0:
		return missing("to")
	case strings.TrimSpace(em.Subject) == "":
		return missing("subject")
	case em.HTML == "" && em.Text == "" && len(em.Template) == 0:
		return missing("html` or `text")
	case len(em.To) > MaxRecipients:
		return invalid(fmt.Sprintf("Too many recipients in the `to` field: %d. The maximum is %d.", len(em.To), MaxRecipients))
	case inBatch && len(em.Attachments) > 0 && string(em.Attachments) != "null":
		return invalid("Attachments are not supported in batch emails.")
	case inBatch && em.ScheduledAt != "":
		return invalid("The `scheduled_at` field is not supported in batch emails.")
	}
	from, err := netmail.ParseAddress(em.From)
	if err != nil {
		return invalid("Invalid `from` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.")
	}
	for field, list := range map[string]stringList{"to": em.To, "cc": em.Cc, "bcc": em.Bcc, "reply_to": em.ReplyTo} {
		for _, a := range list {
			if _, err := netmail.ParseAddress(a); err != nil {
				return invalid("Invalid `" + field + "` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.")
			}
		}
	}
	for k, v := range em.Headers {
		if k == "" || strings.ContainsAny(k, "\r\n: ") || strings.ContainsAny(v, "\r\n") {
			return invalid("Invalid `headers` field: header names and values cannot contain line breaks.")
		}
	}
	for _, t := range em.Tags {
		if !tagOK(t.Name) || !tagOK(t.Value) {
			return invalid("Invalid `tags` field: names and values can only contain ASCII letters, numbers, underscores or dashes, up to 256 characters.")
		}
	}
	if len(s.opts.VerifiedDomains) > 0 {
		_, domain, _ := strings.Cut(from.Address, "@")
		verified := false
		for _, d := range s.opts.VerifiedDomains {
			verified = verified || strings.EqualFold(d, domain)
		}
		if !verified {
			return &apiError{http.StatusForbidden, "validation_error", "The " + domain + " domain is not verified. Please, add and verify your domain on https://resend.com/domains"}
		}
	}
	return nil
}

func tagOK(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// record accepts emails: ids, the log and the per-recipient counts.
func (s *Server) record(emails []wireEmail, key string, batch bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ids := make([]string, len(emails))
	for i, em := range emails {
		id := newID()
		ids[i] = id
		rec := Email{
			ID: id, From: em.From, To: em.To, Cc: em.Cc, Bcc: em.Bcc, ReplyTo: em.ReplyTo,
			Subject: em.Subject, HTML: em.HTML, Text: em.Text, Headers: em.Headers, Tags: em.Tags,
			IdempotencyKey: key, Batch: batch, At: now,
		}
		if s.opts.DiscardBodies {
			rec.HTML, rec.Text = "", ""
		}
		s.byID[id] = len(s.emails)
		s.emails = append(s.emails, rec)
		for _, list := range [][]string{em.To, em.Cc, em.Bcc} {
			for _, a := range list {
				addr := a
				if p, err := netmail.ParseAddress(a); err == nil {
					addr = p.Address
				}
				addr = strings.ToLower(addr)
				s.received[addr]++
				k := dupKey{addr, em.Subject}
				if s.seen[k]++; s.seen[k] > 1 {
					s.duplicates++
				}
			}
		}
	}
	return ids
}

// newID is a random UUID (v4), the form of Resend's email ids.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
