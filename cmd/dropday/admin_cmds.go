package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/dropday/dropday/internal/accounts"
	"github.com/dropday/dropday/internal/apitokens"
	"github.com/dropday/dropday/internal/audit"
	"github.com/dropday/dropday/internal/auth"
	"github.com/dropday/dropday/internal/config"
	"github.com/dropday/dropday/internal/presave"
	"github.com/dropday/dropday/internal/store"
	"github.com/dropday/dropday/internal/vault"
)

func migrateCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	unlock := fs.Bool("unlock", false, "remove a migration lock left by a crashed process, then migrate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if *unlock {
		if err := store.Unlock(ctx, db); err != nil {
			return err
		}
		log.Info("migration lock removed")
	}
	if err := store.Migrate(ctx, db, log, 2*time.Minute); err != nil {
		return err
	}
	log.Info("database is up to date")
	return nil
}

const userUsage = `usage: dropday user create -email EMAIL -workspace NAME [-name NAME] [-password-stdin]
       dropday user password -email EMAIL [-password-stdin]`

func userCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "password" {
		return userPasswordCmd(ctx, cfg, log, args[1:], stdin, stdout)
	}
	if len(args) == 0 || args[0] != "create" {
		return errors.New(userUsage)
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	email := fs.String("email", "", "the owner's email (required)")
	name := fs.String("name", "", "the owner's name")
	workspace := fs.String("workspace", "", "the new workspace's name (required)")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	pw, err := readPassword(*pwStdin, stdin, stdout)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	in := accounts.OwnerInput{Name: *name, Email: *email, Password: pw, Workspace: *workspace}
	u, w, errs, err := accounts.CreateOwner(ctx, db, auth.NewHasher(cfg.BcryptCost), in, "", time.Now())
	if err != nil {
		return err
	}
	if errs.Has() {
		var b strings.Builder
		for _, fe := range errs {
			fmt.Fprintf(&b, "\n  -%s: %s", fe.Field, fe.Message)
		}
		return fmt.Errorf("the user was not created:%s", b.String())
	}
	fmt.Fprintf(stdout, "Created %s as owner of workspace %q (id %d). Log in at %s\n", u.Email, w.Name, w.ID, cfg.URL("/login"))
	return nil
}

// userPasswordCmd sets an admin's password from the shell: the way back in
// when email does not reach them (the outbox driver keeps reset emails where
// nobody can read them). Like a reset link, it logs the account out everywhere.
func userPasswordCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("user password", flag.ContinueOnError)
	email := fs.String("email", "", "the account's email (required)")
	pwStdin := fs.Bool("password-stdin", false, "read the new password from the first line of stdin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if strings.TrimSpace(*email) == "" {
		return errors.New(userUsage)
	}
	pw, err := readPassword(*pwStdin, stdin, stdout)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	ended, errs, err := accounts.SetPassword(ctx, db, auth.NewHasher(cfg.BcryptCost), *email, pw)
	if err != nil {
		return err
	}
	if errs.Has() {
		var b strings.Builder
		for _, fe := range errs {
			fmt.Fprintf(&b, "\n  -%s: %s", fe.Field, fe.Message)
		}
		return fmt.Errorf("the password was not changed:%s", b.String())
	}
	fmt.Fprintf(stdout, "Changed the password of %s and ended %d session(s). Log in at %s\n", strings.ToLower(strings.TrimSpace(*email)), ended, cfg.URL("/login"))
	return nil
}

func readPassword(fromStdin bool, stdin io.Reader, stdout io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stdout, "Password (10+ characters): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdout)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password given: type it when asked, or pipe it with -password-stdin")
	}
	return pw, nil
}

func tokenCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: dropday token create -workspace ID -name NAME")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	wid := fs.Int64("workspace", 0, "workspace id (shown in Settings and by `user create`)")
	name := fs.String("name", "", "what the token is for, like \"website\" (required)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := store.WorkspaceByID(ctx, db, *wid); err != nil {
		return fmt.Errorf("workspace %d: %w", *wid, err)
	}
	token, _, msg, err := apitokens.Create(ctx, db, *wid, *name, nil, time.Now())
	if err != nil {
		return err
	}
	if msg != "" {
		return errors.New(msg)
	}
	fmt.Fprintf(stdout, "%s\nThis is the only time the token is shown. Use it as: Authorization: Bearer <token>\n", token)
	return nil
}

func keysCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return fmt.Errorf("usage: dropday keys rotate   (after putting a new primary key first in DROPDAY_MASTER_KEYS)")
	}
	k, err := vault.Load(log, cfg.MasterKeys, cfg.DataDir)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := presave.Rotate(ctx, db, k, log)
	// The audit log records every run, finished or not; it is instance-wide
	// (no workspace), so every workspace's owners see it.
	actor := audit.CLI
	actor.IP, _ = os.Hostname()
	actor.UserAgent = "dropday keys rotate"
	detail := audit.Detail("rewrapped", n, "primary_key", k.Primary())
	if err != nil {
		detail += " error=" + strconv.Quote(err.Error())
	}
	if aerr := audit.Record(ctx, db, actor, 0, audit.KeysRotate, fmt.Sprintf("credentials under key %d", k.Primary()), detail, time.Now()); aerr != nil {
		log.Error("could not write the audit log entry", "err", aerr)
	}
	if err != nil {
		return fmt.Errorf("rotated %d credentials, then: %w", n, err)
	}
	fmt.Fprintf(stdout, "Re-wrapped %d credentials under key %d. Keys other than %d can be removed from DROPDAY_MASTER_KEYS once every instance runs with the new list.\n", n, k.Primary(), k.Primary())
	return nil
}
