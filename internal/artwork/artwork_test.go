package artwork

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// picture is a w×h image: red on the left half, blue on the right, so a
// centred crop can be checked by colour.
func picture(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{200, 30, 30, 255}
			if x >= w/2 {
				c = color.RGBA{30, 30, 200, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

func encode(t *testing.T, format string, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newStore(t *testing.T) *Store {
	return &Store{Dir: filepath.Join(t.TempDir(), "artwork"), MaxBytes: 10 << 20}
}

func decodeFile(t *testing.T, p string) image.Image {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, format, err := image.Decode(f)
	if err != nil || format != "jpeg" {
		t.Fatalf("%s: format %q, %v", p, format, err)
	}
	return img
}

func TestSaveResizesToSquares(t *testing.T) {
	cases := []struct {
		name, format, original string
		w, h                   int
	}{
		{"png square", "png", "original.png", 1000, 1000},
		{"jpeg square", "jpeg", "original.jpg", 700, 700},
		{"png at the minimum", "png", "original.png", 300, 300},
		{"wide jpeg", "jpeg", "original.jpg", 1200, 800},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			data := encode(t, tc.format, picture(tc.w, tc.h))
			if err := s.Check(data); err != nil {
				t.Fatalf("Check: %v", err)
			}
			key, err := s.Save(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("Save: %v", err)
			}
			if !keyRE.MatchString(key) {
				t.Fatalf("key %q", key)
			}
			orig, err := os.ReadFile(filepath.Join(s.Dir, key, tc.original))
			if err != nil || !bytes.Equal(orig, data) {
				t.Fatalf("original not kept as uploaded: %v", err)
			}
			for _, size := range Sizes {
				img := decodeFile(t, filepath.Join(s.Dir, key, itoa(size)+".jpg"))
				want := min(size, min(tc.w, tc.h))
				if b := img.Bounds(); b.Dx() != want || b.Dy() != want {
					t.Fatalf("%d variant is %dx%d, want %dx%d", size, b.Dx(), b.Dy(), want, want)
				}
			}
			if got, want := URL(key, 160), "/media/artwork/"+key+"/160.jpg"; got != want {
				t.Fatalf("URL = %q, want %q", got, want)
			}
		})
	}
}

func TestSaveCropsTheCentre(t *testing.T) {
	s := newStore(t)
	// 1200×600: the centred 600×600 square is half red (left) and half blue (right).
	key, err := s.Save(bytes.NewReader(encode(t, "png", picture(1200, 600))))
	if err != nil {
		t.Fatal(err)
	}
	img := decodeFile(t, filepath.Join(s.Dir, key, "160.jpg"))
	if b := img.Bounds(); b.Dx() != 160 || b.Dy() != 160 {
		t.Fatalf("160 variant is %v", b)
	}
	left := color.RGBAModel.Convert(img.At(20, 80)).(color.RGBA)
	right := color.RGBAModel.Convert(img.At(140, 80)).(color.RGBA)
	if left.R < 150 || left.B > 100 || right.B < 150 || right.R > 100 {
		t.Fatalf("crop is not centred: left %v right %v", left, right)
	}
	// A tall image crops the same way.
	key, err = s.Save(bytes.NewReader(encode(t, "jpeg", picture(400, 900))))
	if err != nil {
		t.Fatal(err)
	}
	if b := decodeFile(t, filepath.Join(s.Dir, key, "640.jpg")).Bounds(); b.Dx() != 400 || b.Dy() != 400 {
		t.Fatalf("tall 640 variant is %v (never upscaled beyond the crop)", b)
	}
}

func TestRejects(t *testing.T) {
	s := newStore(t)
	s.MaxBytes = 1 << 20
	noise := image.NewRGBA(image.Rect(0, 0, 700, 700))
	seed := uint32(2463534242)
	for i := range noise.Pix {
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		noise.Pix[i] = byte(seed)
	}
	// A header claiming 9000×9000 is refused before any pixel is decoded.
	hugeHeader := encode(t, "png", picture(300, 300))
	hugeHeader[16], hugeHeader[17], hugeHeader[18], hugeHeader[19] = 0, 0, 0x23, 0x28    // width 9000
	hugeHeader[20], hugeHeader[21], hugeHeader[22], hugeHeader[23] = 0, 0, 0x23, 0x28    // height 9000
	binary.BigEndian.PutUint32(hugeHeader[29:33], crc32.ChecksumIEEE(hugeHeader[12:29])) // IHDR's CRC
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"text", []byte("hello, this is not an image"), ErrNotImage},
		{"text named like html", []byte("<html><body>hi</body></html>"), ErrNotImage},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), ErrNotImage},
		{"truncated png", encode(t, "png", picture(400, 400))[:40], ErrNotImage},
		{"too small", encode(t, "png", picture(299, 800)), ErrTooSmall},
		{"too big", hugeHeader, ErrTooBig},
		{"too many bytes", encode(t, "png", noise), ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Check(tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			if _, err := s.Save(bytes.NewReader(tc.data)); !errors.Is(err, tc.want) {
				t.Fatalf("Save = %v, want %v", err, tc.want)
			}
			if entries, _ := os.ReadDir(s.Dir); len(entries) != 0 {
				t.Fatalf("a rejected upload left %d entries on disk", len(entries))
			}
		})
	}
}

func TestPathAndDelete(t *testing.T) {
	s := newStore(t)
	key, err := s.Save(bytes.NewReader(encode(t, "png", picture(300, 300))))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"640.jpg", "160.jpg", "original.png"} {
		p, err := s.Path(key, name)
		if err != nil || p != filepath.Join(s.Dir, key, name) {
			t.Fatalf("Path(%s) = %q, %v", name, p, err)
		}
	}
	bad := [][2]string{
		{"../etc", "640.jpg"},
		{key, "../../secret.key"},
		{key, "../" + key + "/640.jpg"},
		{"..", "passwd"},
		{strings.ToUpper(key), "640.jpg"},
		{key[:31], "640.jpg"},
		{key, "320.jpg"},
		{key, "original.gif"},
		{key, ""},
		{"", "640.jpg"},
	}
	for _, b := range bad {
		if p, err := s.Path(b[0], b[1]); !errors.Is(err, ErrBadKey) {
			t.Fatalf("Path(%q, %q) = %q, %v; want ErrBadKey", b[0], b[1], p, err)
		}
	}
	if err := s.Delete("../" + key); !errors.Is(err, ErrBadKey) {
		t.Fatalf("Delete with a path = %v", err)
	}
	if err := s.Delete(key); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, key)); !os.IsNotExist(err) {
		t.Fatalf("files remain after Delete: %v", err)
	}
	if err := s.Delete(key); err != nil {
		t.Fatalf("second Delete = %v, want nil", err)
	}
	if URL("", 640) != "" {
		t.Fatal("URL of no artwork is not empty")
	}
}

func itoa(n int) string {
	return strings.TrimLeft(string([]byte{byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)}), "0")
}
