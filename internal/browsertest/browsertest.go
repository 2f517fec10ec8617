// Package browsertest drives Debian's headless Chromium from Go tests
// (chromedp) and saves screenshots people can look at.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Viewports the product is judged at.
var (
	Phone   = [2]int64{390, 844}
	Desktop = [2]int64{1280, 860}
)

func chromiumPath() string {
	if p := os.Getenv("DROPDAY_CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// New starts a headless Chromium for the test at the given viewport and returns
// its context. Without Chromium it skips loudly, except under CI, where it fails.
func New(t *testing.T, viewport [2]int64) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("Chromium is not installed under CI: the browser tests must run (apt-get install -y chromium)")
		}
		t.Skip("SKIPPING browser test: install Chromium (apt-get install -y chromium) to run it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.WindowSize(int(viewport[0]), int(viewport[1])),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(viewport[0], viewport[1])); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Dir is where screenshots go: DROPDAY_SCREENSHOTS if set (to keep them),
// otherwise a temp dir that is removed after the test.
func Dir(t *testing.T) string {
	if d := os.Getenv("DROPDAY_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// Screenshot saves the whole page as name.png and logs where.
func Screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(Dir(t), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
	return p
}
