// Package artwork checks uploaded cover art, stores it under the data dir and
// keeps it at the sizes pages show, so a fan's phone never loads the 3000 px master.
package artwork

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // registers PNG decoding
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers WebP decoding
)

// Sizes are the square variants kept, in pixels: the landing page shows the
// artwork at about 280 CSS px, so 640 covers 2× screens; 160 is the admin thumbnail.
var Sizes = []int{640, 160}

const (
	minSide = 300
	maxSide = 8000 // refuses decompression bombs before decoding pixels
)

// Errors shown to the artist as they are.
var (
	ErrTooLarge   = errors.New("the image is larger than the upload limit")
	ErrNotImage   = errors.New("upload a JPEG, PNG or WebP image")
	ErrTooSmall   = fmt.Errorf("the image must be at least %d×%d pixels", minSide, minSide)
	ErrTooBig     = fmt.Errorf("the image must be at most %d×%d pixels", maxSide, maxSide)
	ErrBadKey     = errors.New("artwork: bad key")
	keyRE         = regexp.MustCompile(`^[0-9a-f]{32}$`)
	allowedFormat = map[string]bool{"jpeg": true, "png": true, "webp": true}
)

// Store keeps artwork under Dir/<key>/<size>.jpg and Dir/<key>/original.<ext>.
type Store struct {
	Dir      string
	MaxBytes int64
}

// Check validates an upload without writing anything, so a form with other
// errors can report a bad image and still leave the disk untouched.
func (s *Store) Check(data []byte) error {
	_, _, err := s.check(data)
	return err
}

// check decodes the image and returns it with its format, or the error to
// show the artist. The size checks read only the header, so a decompression
// bomb is refused before its pixels are decoded; the full decode then catches
// truncated files, so an image that passes Check also saves.
func (s *Store) check(data []byte) (image.Image, string, error) {
	if int64(len(data)) > s.MaxBytes {
		return nil, "", fmt.Errorf("%w (%d MB)", ErrTooLarge, s.MaxBytes>>20)
	}
	switch http.DetectContentType(data) {
	case "image/jpeg", "image/png", "image/webp":
	default:
		return nil, "", ErrNotImage
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || !allowedFormat[format] {
		return nil, "", ErrNotImage
	}
	if cfg.Width < minSide || cfg.Height < minSide {
		return nil, "", ErrTooSmall
	}
	if cfg.Width > maxSide || cfg.Height > maxSide {
		return nil, "", ErrTooBig
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", ErrNotImage
	}
	return img, format, nil
}

// Save checks and stores an upload, returning its new key. A new upload always
// gets a new key, so the files can be cached forever.
func (s *Store) Save(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, s.MaxBytes+1))
	if err != nil {
		return "", fmt.Errorf("artwork: read upload: %w", err)
	}
	img, format, err := s.check(data)
	if err != nil {
		return "", err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("artwork: key: %w", err)
	}
	key := hex.EncodeToString(b)
	if err := s.write(key, format, data, img); err != nil {
		// Leave no half-written key behind: nothing refers to it.
		_ = os.RemoveAll(filepath.Join(s.Dir, key))
		return "", err
	}
	return key, nil
}

func (s *Store) write(key, format string, data []byte, img image.Image) error {
	dir := filepath.Join(s.Dir, key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("artwork: %w", err)
	}
	ext := map[string]string{"jpeg": "jpg", "png": "png", "webp": "webp"}[format]
	if err := writeFile(filepath.Join(dir, "original."+ext), data); err != nil {
		return err
	}
	sq := centreSquare(img)
	for _, size := range Sizes {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, resize(sq, size), &jpeg.Options{Quality: 85}); err != nil {
			return fmt.Errorf("artwork: encode: %w", err)
		}
		if err := writeFile(filepath.Join(dir, fmt.Sprintf("%d.jpg", size)), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes every file of an artwork, for uploads whose link was never
// saved (a slug conflict after the files were written). A missing key is no error.
func (s *Store) Delete(key string) error {
	if !keyRE.MatchString(key) {
		return ErrBadKey
	}
	if err := os.RemoveAll(filepath.Join(s.Dir, key)); err != nil {
		return fmt.Errorf("artwork: delete: %w", err)
	}
	return nil
}

// Path returns the file for key and name ("640.jpg", "original.png"), or
// ErrBadKey for anything that is not one of ours (no path tricks).
func (s *Store) Path(key, name string) (string, error) {
	if !keyRE.MatchString(key) {
		return "", ErrBadKey
	}
	ok := name == "original.jpg" || name == "original.png" || name == "original.webp"
	for _, size := range Sizes {
		ok = ok || name == fmt.Sprintf("%d.jpg", size)
	}
	if !ok {
		return "", ErrBadKey
	}
	return filepath.Join(s.Dir, key, name), nil
}

// URL is the public URL of one size of an artwork ("" when there is none).
func URL(key string, size int) string {
	if key == "" {
		return ""
	}
	return fmt.Sprintf("/media/artwork/%s/%d.jpg", key, size)
}

func writeFile(path string, data []byte) error {
	// Write then rename, so a crash never leaves a half file that is cached forever.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("artwork: write: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("artwork: write: %w", err)
	}
	return nil
}

// centreSquare crops to the largest centred square; covers are nearly always square already.
func centreSquare(img image.Image) image.Image {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	x0 := b.Min.X + (b.Dx()-side)/2
	y0 := b.Min.Y + (b.Dy()-side)/2
	dst := image.NewRGBA(image.Rect(0, 0, side, side))
	// A transparent PNG gets a dark background, like the page behind it.
	draw.Draw(dst, dst.Bounds(), &image.Uniform{C: color.RGBA{17, 17, 17, 255}}, image.Point{}, draw.Src)
	draw.Draw(dst, dst.Bounds(), img, image.Point{X: x0, Y: y0}, draw.Over)
	return dst
}

func resize(img image.Image, size int) image.Image {
	if img.Bounds().Dx() <= size {
		return img
	}
	dst := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
	return dst
}
