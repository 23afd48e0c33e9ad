package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// The archive commands check the sealed log from outside, with nothing but
// a region's public note key (docs/SECURITY.md, "Checkpoint keys").

func parseArchive(args []string) (command, error) {
	if len(args) == 0 {
		return nil, errors.New("archive: want verify, audit or key")
	}
	switch args[0] {
	case "verify":
		return parseVerify(args[1:])
	case "audit":
		return parseAudit(args[1:])
	case "key":
		return parseNoteKey(args[1:])
	}
	return nil, fmt.Errorf("archive: unknown command %q", args[0])
}

// readNoteKey returns a note verifier key given as is or as @file.
func readNoteKey(v string) (string, error) {
	if path, ok := strings.CutPrefix(v, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read note key: %w", err)
		}
		v = strings.TrimSpace(string(b))
	}
	if _, err := note.NewVerifier(v); err != nil {
		return "", fmt.Errorf("note key %q: %w", v, err)
	}
	return v, nil
}

// VerifyCmd checks an exported bundle offline.
type VerifyCmd struct {
	Bundle, Key string
}

func parseVerify(args []string) (*VerifyCmd, error) {
	c := &VerifyCmd{}
	fs := newFlags("archive verify")
	fs.StringVar(&c.Bundle, "bundle", "", "exported dossier bundle (JSON)")
	fs.StringVar(&c.Key, "key", "", "the region's public note key, or @file")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if c.Bundle == "" || c.Key == "" {
		return nil, errors.New("archive verify: --bundle and --key are required")
	}
	return c, nil
}

// ErrInvalid is a bundle or log that does not verify; what fails is printed.
var ErrInvalid = errors.New("does not verify")

func (c *VerifyCmd) run(_ context.Context, stdout io.Writer) error {
	key, err := readNoteKey(c.Key)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(c.Bundle)
	if err != nil {
		return fmt.Errorf("read bundle: %w", err)
	}
	v, err := sealproof.Verify(b, key)
	if err != nil {
		fmt.Fprintf(stdout, "invalid: %v\n", err)
		return fmt.Errorf("%s %w", c.Bundle, ErrInvalid)
	}
	fmt.Fprintf(stdout, "valid: %s (registration event %s) is leaf %d of %s's tree of %d leaves, root %s, signed by %s\n",
		v.Name, v.RegistrationEventID, v.LeafIndex, v.Origin, v.TreeSize, base64.StdEncoding.EncodeToString(v.Root), key)
	return nil
}

// AuditCmd follows a region's log from a remembered checkpoint to the
// latest and checks that the latest extends it.
type AuditCmd struct {
	URL, Key, State string
}

func parseAudit(args []string) (*AuditCmd, error) {
	c := &AuditCmd{}
	fs := newFlags("archive audit")
	fs.StringVar(&c.URL, "url", "http://localhost:8080/tlog/"+DefaultRegion+"/", "the log's base URL (the gateway's /tlog/<region>/)")
	fs.StringVar(&c.Key, "key", "", "the region's public note key, or @file")
	fs.StringVar(&c.State, "state", "", "file of the remembered checkpoint; written with the latest once it checks out")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if c.Key == "" || c.State == "" {
		return nil, errors.New("archive audit: --key and --state are required")
	}
	if _, err := url.Parse(c.URL); err != nil {
		return nil, fmt.Errorf("archive audit: --url: %w", err)
	}
	return c, nil
}

func (c *AuditCmd) run(ctx context.Context, stdout io.Writer) error {
	key, err := readNoteKey(c.Key)
	if err != nil {
		return err
	}
	v, _ := note.NewVerifier(key)
	u, _ := url.Parse(c.URL)
	f, err := client.NewHTTPFetcher(u, &http.Client{Timeout: callTimeout})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*callTimeout)
	defer cancel()
	raw, err := f.ReadCheckpoint(ctx)
	if err != nil {
		return fmt.Errorf("fetch checkpoint: %w", err)
	}
	latest, _, err := sealproof.OpenCheckpoint(raw, v)
	if err != nil {
		fmt.Fprintf(stdout, "invalid: latest checkpoint: %v\n", err)
		return fmt.Errorf("latest checkpoint %w", ErrInvalid)
	}
	old, err := os.ReadFile(c.State)
	if errors.Is(err, os.ErrNotExist) {
		if err := writeAtomic(c.State, raw, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "first checkpoint remembered: %s, %d leaves, root %s\n", latest.Origin, latest.Size, base64.StdEncoding.EncodeToString(latest.Root))
		return nil
	}
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	prev, _, err := sealproof.OpenCheckpoint(old, v)
	if err != nil {
		return fmt.Errorf("remembered checkpoint %s: %w", c.State, err)
	}
	if latest.Size < prev.Size {
		fmt.Fprintf(stdout, "invalid: the log shrank from %d to %d leaves\n", prev.Size, latest.Size)
		return fmt.Errorf("log %w", ErrInvalid)
	}
	var hashes [][]byte
	if prev.Size > 0 && prev.Size < latest.Size {
		pb, err := client.NewProofBuilder(ctx, latest.Size, f.ReadTile)
		if err != nil {
			return err
		}
		if hashes, err = pb.ConsistencyProof(ctx, prev.Size, latest.Size); err != nil {
			return fmt.Errorf("consistency proof from the tiles: %w", err)
		}
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, prev.Size, latest.Size, hashes, prev.Root, latest.Root); err != nil {
		fmt.Fprintf(stdout, "invalid: the checkpoint of %d leaves does not extend the remembered one of %d: %v\n", latest.Size, prev.Size, err)
		return fmt.Errorf("log %w", ErrInvalid)
	}
	if err := writeAtomic(c.State, raw, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "consistent: %s grew from %d to %d leaves; root %s remembered\n", latest.Origin, prev.Size, latest.Size,
		base64.StdEncoding.EncodeToString(latest.Root))
	return nil
}

// NoteKeyCmd prints a region's public note key from the archive's
// checkpoint key (private or public PEM).
type NoteKeyCmd struct {
	KeyFile, Region string
}

func parseNoteKey(args []string) (*NoteKeyCmd, error) {
	c := &NoteKeyCmd{}
	fs := newFlags("archive key")
	fs.StringVar(&c.KeyFile, "key", "", "the archive's checkpoint key, private or public PEM (ARCHIVE_SIGNING_KEY)")
	fs.StringVar(&c.Region, "region", DefaultRegion, "region")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if c.KeyFile == "" {
		return nil, errors.New("archive key: --key is required")
	}
	if !names.IsRegion(c.Region) {
		return nil, fmt.Errorf("archive key: --region %q is not a region", c.Region)
	}
	return c, nil
}

func (c *NoteKeyCmd) run(_ context.Context, stdout io.Writer) error {
	var pub ed25519.PublicKey
	if priv, err := authn.LoadPrivateKey(c.KeyFile); err == nil {
		pub = priv.Public().(ed25519.PublicKey)
	} else if pub, err = authn.LoadPublicKey(c.KeyFile); err != nil {
		return fmt.Errorf("archive key: %s is neither a private nor a public Ed25519 PEM key", c.KeyFile)
	}
	fmt.Fprintln(stdout, sealproof.VerifierKey(sealproof.Origin(c.Region), pub))
	return nil
}
