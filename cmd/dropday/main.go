// Command dropday is the whole product in one binary: the web server, its
// migrations and the admin commands.
//
//	dropday [serve]                 run the server (default)
//	dropday demo                    serve against local platform stand-ins, seeded
//	dropday migrate [-unlock]       apply migrations and exit
//	dropday user create -email … -workspace … [-name …]   (password from the terminal or stdin)
//	dropday user password -email …                        (set a new password; logs the account out everywhere)
//	dropday token create -workspace ID -name …            (prints an API token once)
//	dropday keys rotate                                   (re-wrap credentials under the primary key)
//	dropday version
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // release time zones work on machines without /usr/share/zoneinfo

	"github.com/dropday/dropday/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dropday:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "dropday", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	// Subcommands with their own flags take them after the sub-subcommand;
	// the shared config flags (-addr, -database-url, …) come from the environment.
	cfgArgs := args
	if cmd == "user" || cmd == "token" || cmd == "migrate" || cmd == "keys" || cmd == "demo" {
		cfgArgs = nil
	}
	cfg, err := config.Load(getenv, cfgArgs)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log)
	case "demo":
		return demoCmd(ctx, cfg, log, args, stdout)
	case "migrate":
		return migrateCmd(ctx, cfg, log, args)
	case "user":
		return userCmd(ctx, cfg, log, args, stdin, stdout)
	case "token":
		return tokenCmd(ctx, cfg, log, args, stdout)
	case "keys":
		return keysCmd(ctx, cfg, log, args, stdout)
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}

const usage = `usage:
  dropday [serve] [-addr host:port] [-base-url URL] [-database-url URL] [-data-dir DIR] [-trusted-proxies CIDRs]
  dropday demo [-release-in 10m]  the server against local platform stand-ins, with a seeded workspace
  dropday migrate [-unlock]
  dropday user create -email EMAIL -workspace NAME [-name NAME] [-password-stdin]
  dropday user password -email EMAIL [-password-stdin]
  dropday token create -workspace ID -name NAME
  dropday keys rotate
  dropday version
Configuration comes from DROPDAY_* environment variables; see README.md.
`

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
