// Package cli is disputectl: parsing of its subcommands into plain values,
// and running them against the key files, the meeting service's roster API,
// etcd (roster, region documents and rate limits), Redis (parked event entries) and the
// archive's sealed log (bundles and served tiles).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
)

// Defaults of the development setup (`make run`).
const (
	DefaultKeyDir   = "var/keys"
	DefaultKey      = "var/keys/dev-key.pem"
	DefaultAddr     = "localhost:9103"
	DefaultEtcd     = "localhost:2390"
	DefaultRegion   = "141181"
	DefaultTTL      = authn.DefaultMaxLifetime
	TokenEnv        = "DISPUTES_TOKEN"
	callTimeout     = 10 * time.Second
	defaultKeyName  = "dev-key"
	privateKeyFile  = defaultKeyName + ".pem"
	publicKeyFile   = defaultKeyName + ".pub.pem"
	mintedTokenTTL  = 10 * time.Minute
	defaultAdminDep = "admin"
	defaultStaff    = "disputectl"
)

const usage = `usage: disputectl <command> [flags]

commands:
  keygen [--dir var/keys] [--name dev-key]
      write <name>.pem (private) and <name>.pub.pem unless they exist
  keys rotate [--dir var/keys]
      replace the signing key dev-key.pem (and dev-key.pub.pem) with a new pair
      under a new key id, and keep the old public key as <old kid>.pub.pem so
      tokens it signed stay valid; services given --dir as their key set
      (DISPUTES_PUBLIC_KEY) accept both; remove the old file after 12 h
  certs init [--dir var/certs] [--hosts name,10.0.0.5]
      write a local CA (ca.pem, ca-key.pem) and, for intake, routing, meeting,
      archive, gateway and client, <name>.pem and <name>-key.pem naming it
      (DNS <name>, localhost; IP 127.0.0.1, ::1; plus --hosts); existing good
      files are kept, keys are 0600; remove a pair (or ca*) to issue it anew
  token --region 141181 --dept tax --staff wang --role clerk [--role handler] [--ttl 12h] [--aud disputes] [--key var/keys/dev-key.pem]
      print a signed token (aud, iat, exp and the key id; --ttl at most 12h)
  roster get
  roster set --file roster.json --reason "..."
  roster add-unit --id market --name 市市场监管局 [--intake-point] [--duty "..."]... [--head "..."] --reason "..."
  roster remove-unit --id market --reason "..."
  roster add-staff --unit tax --id wang --name 王小明 --role clerk [--role handler]... --reason "..."
  roster remove-staff --id wang --reason "..."
      read or change the roster through the meeting service; connection flags:
      [--addr localhost:9103] [--region 141181] [--token JWT | env DISPUTES_TOKEN | --key var/keys/dev-key.pem]
      [--tls-cert var/certs/client.pem --tls-key var/certs/client-key.pem --tls-ca var/certs/ca.pem
       | env DISPUTES_TLS_CERT, DISPUTES_TLS_KEY, DISPUTES_TLS_CA] [--insecure-plaintext]
      (without a token, an admin token is minted from --key)
  roster init --file deploy/roster/141181.json [--etcd localhost:2390]
      seed etcd with the roster unless the region already has one
  config init [--dir deploy/config] [--etcd localhost:2390]
      seed etcd with each region's <region>/intake-rules.json, time-limits.json,
      rate-limits.json and calendar/<year>.json, each only where etcd has no value yet
  limits get [--region 141181]
  limits set [--region 141181] [--staff-reads R/B] [--staff-writes R/B] [--department-reads R/B] [--department-writes R/B]
      show or change a region's per-caller rate limits in etcd (live in every
      service): R calls per second, bursts of B; "default" removes a limit so
      its default applies; limits not named are kept; [--etcd localhost:2390]
      etcd flags: [--etcd-user disputes --etcd-password-file var/secrets/etcd-password
                   | env DISPUTES_ETCD_USER, DISPUTES_ETCD_PASSWORD_FILE]
  calendar set --year 2027 --file 2027.txt [--region 141181] [--etcd localhost:2390]
      load a year's holidays and make-up working days (调休上班) from the State
      Council's notice, written as lines "holiday 2027-01-01..2027-01-03" and
      "workday 2027-02-06" (# starts a comment) or as JSON; checked (dates in the
      year, no duplicates, make-up days on weekends, no day in both lists), then
      stored in etcd, where every service takes it within a second
  calendar get --year 2027 [--region 141181] [--etcd localhost:2390]
      print the year's calendar as stored
  calendar list [--region 141181] [--etcd localhost:2390]
      list the years with a calendar, and those missing (the current year, and
      the next one from 60 days before it starts); etcd flags as for config init
  events parked list [--group routing] [--limit 100]
      print the region's parked event entries (those a consumer group could not
      process) and their total; --limit 0 prints all
  events parked replay (--id PARKED_ID --group intake --source routing | --all [--group G] [--source S])
      put parked entries back on their source stream; the group that parked one
      applies it, the others skip it by its event id
  events parked drop (--id PARKED_ID --group G --source S | --all [--group G] [--source S]) --reason "..."
      delete parked entries for good and print what was dropped
      events flags: [--region 141181] [--redis-addr localhost:6390 | env DISPUTES_REDIS_ADDR]
                    (a Redis Cluster: its nodes, comma-separated)
                    [--redis-user disputes --redis-password-file var/secrets/redis-password
                     | env DISPUTES_REDIS_USER, DISPUTES_REDIS_PASSWORD_FILE]
  archive key --key var/archive-key/archive-key.pem [--region 141181]
      print the region's public note key (name+key id+key) that verifies its checkpoints
  archive verify --bundle dossier.json --key NOTE_KEY|@file
      check an exported dossier offline: the checkpoint's signature, the inclusion
      proof of the leaf and that the leaf is the dossier; prints valid or what fails
  archive audit --state 141181.checkpoint --key NOTE_KEY|@file [--url http://localhost:8080/tlog/141181/]
      fetch the latest checkpoint and check, from the served tiles, that it extends
      the remembered one; then remember it (the first run remembers only)
`

// Run runs disputectl with args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd, err := Parse(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "disputectl: %v\n\n%s", err, usage)
		return 2
	}
	if err := cmd.run(ctx, stdout); err != nil {
		report(stderr, err)
		return 1
	}
	return 0
}

// report prints err; for a gRPC status, its code, message, ErrorInfo reason
// and each field violation on its own line.
func report(w io.Writer, err error) {
	var ve *roster.ValidationError
	if errors.As(err, &ve) {
		fmt.Fprintln(w, "error: invalid roster")
		for _, v := range ve.Violations {
			fmt.Fprintf(w, "  %s: %s\n", v.Field, v.Reason)
		}
		return
	}
	st, ok := status.FromError(err)
	if !ok {
		fmt.Fprintf(w, "error: %v\n", err)
		return
	}
	fmt.Fprintf(w, "error: %s: %s\n", st.Code(), st.Message())
	if r := apierr.Reason(err); r != "" {
		fmt.Fprintf(w, "  reason: %s\n", r)
	}
	for _, v := range apierr.FieldViolations(err) {
		fmt.Fprintf(w, "  %s: %s\n", v.Field, v.Reason)
	}
}

// command is one parsed subcommand.
type command interface {
	run(ctx context.Context, stdout io.Writer) error
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments: %s", fs.Name(), strings.Join(fs.Args(), " "))
	}
	return nil
}

// Parse turns the command line into a command, checking every flag.
func Parse(args []string, getenv func(string) string) (command, error) {
	if len(args) == 0 {
		return nil, errors.New("no command")
	}
	switch args[0] {
	case "-h", "--help", "help":
		return nil, flag.ErrHelp
	case "keygen":
		return parseKeygen(args[1:])
	case "token":
		return parseToken(args[1:])
	case "keys":
		if len(args) < 2 || args[1] != "rotate" {
			return nil, errors.New("keys: want rotate")
		}
		return parseRotate(args[2:])
	case "roster":
		if len(args) < 2 {
			return nil, errors.New("roster: want get, set, add-unit, remove-unit, add-staff, remove-staff or init")
		}
		return parseRoster(args[1], args[2:], getenv)
	case "config":
		if len(args) < 2 {
			return nil, errors.New("config: want init")
		}
		return parseConfig(args[1], args[2:], getenv)
	case "limits":
		if len(args) < 2 {
			return nil, errors.New("limits: want get or set")
		}
		return parseLimits(args[1], args[2:], getenv)
	case "calendar":
		if len(args) < 2 {
			return nil, errors.New("calendar: want set, get or list")
		}
		return parseCalendar(args[1], args[2:], getenv)
	case "certs":
		return parseCerts(args[1:])
	case "events":
		return parseEvents(args[1:], getenv)
	case "archive":
		return parseArchive(args[1:])
	}
	return nil, fmt.Errorf("unknown command %q", args[0])
}

// KeygenCmd writes a development key pair.
type KeygenCmd struct {
	Dir, Name string
}

var keyNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func parseKeygen(args []string) (*KeygenCmd, error) {
	c := &KeygenCmd{}
	fs := newFlags("keygen")
	fs.StringVar(&c.Dir, "dir", DefaultKeyDir, "directory of the key files")
	fs.StringVar(&c.Name, "name", defaultKeyName, "base name of the key files")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if !keyNameRE.MatchString(c.Name) {
		return nil, fmt.Errorf("keygen: --name %q: want 1-64 of [a-z0-9_-]", c.Name)
	}
	return c, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return false, err
}

func (c *KeygenCmd) run(_ context.Context, stdout io.Writer) error {
	priv, pub := filepath.Join(c.Dir, c.Name+".pem"), filepath.Join(c.Dir, c.Name+authn.PublicKeySuffix)
	havePriv, err := exists(priv)
	if err != nil {
		return err
	}
	havePub, err := exists(pub)
	if err != nil {
		return err
	}
	switch {
	case havePriv && havePub:
		fmt.Fprintf(stdout, "keys exist: %s, %s\n", priv, pub)
		return nil
	case havePriv || havePub:
		return fmt.Errorf("only one of %s and %s exists: remove it or restore the other", priv, pub)
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("create key dir: %w", err)
	}
	if err := authn.GenerateKeyFiles(priv, pub); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", priv, pub)
	return nil
}

// TokenCmd prints a signed token.
type TokenCmd struct {
	Identity authn.Identity
	TTL      time.Duration
	Audience string
	Key      string
}

func parseToken(args []string) (*TokenCmd, error) {
	c := &TokenCmd{}
	var roles stringList
	fs := newFlags("token")
	fs.StringVar(&c.Identity.Region, "region", DefaultRegion, "region (6 digits)")
	fs.StringVar(&c.Identity.Department, "dept", "", "department (member unit id)")
	fs.StringVar(&c.Identity.Staff, "staff", "", "staff id")
	fs.Var(&roles, "role", "role (repeat for several)")
	fs.DurationVar(&c.TTL, "ttl", DefaultTTL, "validity")
	fs.StringVar(&c.Audience, "aud", authn.DefaultAudience, "audience (aud) the services expect")
	fs.StringVar(&c.Key, "key", DefaultKey, "private key file")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	c.Identity.Roles = roles
	if err := c.Identity.Validate(); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if c.TTL <= 0 || c.TTL > authn.DefaultMaxLifetime {
		return nil, fmt.Errorf("token: --ttl %v must be positive and at most %v", c.TTL, authn.DefaultMaxLifetime)
	}
	if c.Audience == "" {
		return nil, errors.New("token: --aud must not be empty")
	}
	return c, nil
}

func (c *TokenCmd) run(_ context.Context, stdout io.Writer) error {
	priv, err := authn.LoadPrivateKey(c.Key)
	if err != nil {
		return err
	}
	tok, err := authn.Signer{Key: priv, Audience: c.Audience}.Issue(c.Identity, c.TTL)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// RotateCmd replaces a key directory's signing key, keeping the old public
// key in the directory so verifiers reading it accept both.
type RotateCmd struct {
	Dir string
}

func parseRotate(args []string) (*RotateCmd, error) {
	c := &RotateCmd{}
	fs := newFlags("keys rotate")
	fs.StringVar(&c.Dir, "dir", DefaultKeyDir, "directory of the key files")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return c, nil
}

// run keeps the old public key under its kid first, then puts the new
// public key in place, then the new private key: at every step the
// directory verifies every token the current private key signs.
func (c *RotateCmd) run(_ context.Context, stdout io.Writer) error {
	priv, pub := filepath.Join(c.Dir, privateKeyFile), filepath.Join(c.Dir, publicKeyFile)
	oldPub, err := authn.LoadPublicKey(pub)
	if err != nil {
		return fmt.Errorf("rotate: the current key: %w (run keygen first)", err)
	}
	oldKID := authn.KeyID(oldPub)
	kept := filepath.Join(c.Dir, oldKID+authn.PublicKeySuffix)
	b, err := os.ReadFile(pub)
	if err != nil {
		return err
	}
	if err := writeAtomic(kept, b, 0o644); err != nil {
		return fmt.Errorf("rotate: keep the old public key: %w", err)
	}
	tmp, err := os.MkdirTemp(c.Dir, ".rotate-")
	if err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	defer os.RemoveAll(tmp)
	newPriv, newPub := filepath.Join(tmp, privateKeyFile), filepath.Join(tmp, publicKeyFile)
	if err := authn.GenerateKeyFiles(newPriv, newPub); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	k, err := authn.LoadPublicKey(newPub)
	if err != nil {
		return err
	}
	if err := os.Rename(newPub, pub); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	if err := os.Rename(newPriv, priv); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	fmt.Fprintf(stdout, "new signing key %s (kid %s)\nold public key kept as %s (kid %s): tokens it signed stay valid; remove it after %v\n",
		priv, authn.KeyID(k), kept, oldKID, authn.DefaultMaxLifetime)
	return nil
}

// writeAtomic writes b to path through a temporary file and a rename, so a
// reader never sees half a key.
func writeAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
