package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
)

// DefaultConfigDir holds one folder per region of seed documents.
const DefaultConfigDir = "deploy/config"

// ConfigInitCmd seeds etcd with the region documents of a folder (intake
// rules, time limits, rate limits, calendars), each only where etcd has none yet.
// Markdown files (*.md) are documentation and skipped; any other file the
// layout does not name is an error.
type ConfigInitCmd struct {
	Dir, Etcd string
	Auth      EtcdAuth
}

func parseConfig(sub string, args []string, getenv func(string) string) (command, error) {
	fs := newFlags("config " + sub)
	switch sub {
	case "init":
		c := &ConfigInitCmd{}
		fs.StringVar(&c.Dir, "dir", DefaultConfigDir, "folder of region folders (<region>/intake-rules.json, time-limits.json, rate-limits.json, legal.json, calendar/<year>.json)")
		fs.StringVar(&c.Etcd, "etcd", DefaultEtcd, "etcd endpoint")
		c.Auth.register(fs, getenv)
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if c.Dir == "" {
			return nil, errors.New("config init: --dir is required")
		}
		return c, nil
	}
	return nil, fmt.Errorf("config: unknown subcommand %q (want init)", sub)
}

// seedDoc is one document to seed: its file, etcd key and value.
type seedDoc struct {
	file, key string
	value     []byte
}

// prepare reads and validates file as a document of spec for region (and
// entry sub), and returns it ready to write.
func prepare[T proto.Message](spec regionconfig.Spec[T], region, sub, file string) (seedDoc, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return seedDoc{}, err
	}
	key := spec.Key(region, sub)
	v, err := spec.Decode(key, raw)
	if err != nil {
		return seedDoc{}, fmt.Errorf("%s: %w", file, err)
	}
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(v)
	if err != nil {
		return seedDoc{}, fmt.Errorf("%s: %w", file, err)
	}
	return seedDoc{file: file, key: key, value: b}, nil
}

var yearFileRE = regexp.MustCompile(`^([0-9]{4})\.json$`)

// isDoc reports whether a folder entry is documentation (README.md and the
// like), which seeding skips.
func isDoc(e os.DirEntry) bool { return !e.IsDir() && strings.HasSuffix(e.Name(), ".md") }

// regionDocs reads the documents of one region's folder. A file it does not
// know is an error, so a misspelt name is not silently skipped.
func regionDocs(dir, region string) ([]seedDoc, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var docs []seedDoc
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		var (
			doc  seedDoc
			err  error
			more []seedDoc
		)
		switch {
		case e.Name() == "intake-rules.json" && !e.IsDir():
			doc, err = prepare(regionconfig.IntakeRulesSpec, region, "", path)
		case e.Name() == "time-limits.json" && !e.IsDir():
			doc, err = prepare(regionconfig.TimeLimitsSpec, region, "", path)
		case e.Name() == "rate-limits.json" && !e.IsDir():
			doc, err = prepare(regionconfig.RateLimitsSpec, region, "", path)
		case e.Name() == "legal.json" && !e.IsDir():
			doc, err = prepare(regionconfig.LegalSpec, region, "", path)
		case e.Name() == "calendar" && e.IsDir():
			more, err = calendarDocs(path, region)
		case isDoc(e):
			continue
		default:
			return nil, fmt.Errorf("%s: unknown file (want intake-rules.json, time-limits.json, rate-limits.json, legal.json or calendar/<year>.json)", path)
		}
		if err != nil {
			return nil, err
		}
		if doc.key != "" {
			docs = append(docs, doc)
		}
		docs = append(docs, more...)
	}
	return docs, nil
}

func calendarDocs(dir, region string) ([]seedDoc, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var docs []seedDoc
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if isDoc(e) {
			continue
		}
		m := yearFileRE.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("%s: unknown file (want calendar/<year>.json)", path)
		}
		doc, err := prepare(regionconfig.CalendarSpec, region, m[1], path)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// docs reads and validates every document under c.Dir before anything is
// written.
func (c *ConfigInitCmd) docs() ([]seedDoc, error) {
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		return nil, err
	}
	var docs []seedDoc
	for _, e := range entries {
		path := filepath.Join(c.Dir, e.Name())
		if isDoc(e) {
			continue
		}
		if !e.IsDir() || !names.IsRegion(e.Name()) {
			return nil, fmt.Errorf("%s: unknown file (want one folder per 6-digit region)", path)
		}
		more, err := regionDocs(path, e.Name())
		if err != nil {
			return nil, err
		}
		docs = append(docs, more...)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s holds no region documents", c.Dir)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].key < docs[j].key })
	return docs, nil
}

func (c *ConfigInitCmd) run(ctx context.Context, stdout io.Writer) error {
	docs, err := c.docs()
	if err != nil {
		return err
	}
	cli, err := c.Auth.dial(c.Etcd)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var seeded, kept []string
	for _, d := range docs {
		// Only where the key does not exist: a value changed since (through
		// etcd or a tool) is never overwritten by the seed.
		resp, err := cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(d.key), "=", 0)).
			Then(clientv3.OpPut(d.key, string(d.value))).
			Commit()
		if err != nil {
			return fmt.Errorf("seed %s: %w", d.key, err)
		}
		if resp.Succeeded {
			fmt.Fprintf(stdout, "seeded %s from %s\n", d.key, d.file)
			seeded = append(seeded, d.key)
		} else {
			fmt.Fprintf(stdout, "kept %s (already set)\n", d.key)
			kept = append(kept, d.key)
		}
	}
	fmt.Fprintf(stdout, "%d seeded, %d kept\n", len(seeded), len(kept))
	return nil
}
