// Package proc runs dropday as a real child process, for the benchmark and
// the fault tests that kill it with SIGKILL: what survives must be what the
// database holds, not what a goroutine remembered.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Build compiles ./cmd/dropday into dir and returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "dropday")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/dropday")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("proc: go build: %w\n%s", err, out)
	}
	return bin, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("proc: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("proc: not inside the dropday module")
	}
	return filepath.Dir(mod), nil
}

// FreeAddr returns a loopback address nobody listens on right now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Process is one running `dropday serve`.
type Process struct {
	Addr string
	cmd  *exec.Cmd
	logs *buffer
	done chan struct{}
	err  error
}

// Start runs `bin serve` with env (on top of PATH and HOME) on a free
// address, and waits until /readyz answers 200.
func Start(ctx context.Context, bin string, env map[string]string) (*Process, error) {
	p, err := Launch(bin, env)
	if err != nil {
		return nil, err
	}
	if err := p.WaitReady(ctx, 60*time.Second); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}

// Launch runs `bin serve` like Start but returns at once, ready or not.
func Launch(bin string, env map[string]string) (*Process, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DROPDAY_ADDR=" + addr, "DROPDAY_BASE_URL=http://" + addr}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("proc: start: %w", err)
	}
	p := &Process{Addr: addr, cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// WaitReady polls /readyz until it answers 200, the process exits, ctx
// ends or max passes.
func (p *Process) WaitReady(ctx context.Context, max time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(max)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("proc: dropday exited before it was ready (%v):\n%s", p.err, p.logs.String())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if res, err := c.Get("http://" + p.Addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("proc: dropday not ready after %s:\n%s", max, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pid is the child's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill sends SIGKILL (no shutdown, no deferred code) and waits for the exit.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop asks for a graceful shutdown (SIGTERM) and waits up to grace, then kills.
func (p *Process) Stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
		p.Kill()
		return fmt.Errorf("proc: dropday did not stop within %s", grace)
	}
}

// Exited reports whether the process has ended (and how).
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Logs is everything the process wrote to stdout and stderr so far.
func (p *Process) Logs() string { return p.logs.String() }

// PeakRSS is the process's high-water resident set size (VmHWM, Linux), in bytes.
func (p *Process) PeakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid()) + "/status")
	if err != nil {
		return 0, fmt.Errorf("proc: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("proc: VmHWM %q: %w", rest, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("proc: no VmHWM in /proc status")
}

// buffer is a goroutine-safe log sink that keeps the last 4 MB.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

const keepLogs = 4 << 20

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len()+len(p) > keepLogs {
		b.b.Next(b.b.Len() + len(p) - keepLogs)
	}
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
