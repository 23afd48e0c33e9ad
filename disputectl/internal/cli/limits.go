package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/ratelimit"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
)

// LimitsGetCmd prints a region's rate limits in force.
type LimitsGetCmd struct {
	Region, Etcd string
	Auth         EtcdAuth
}

// LimitsSetCmd changes some of a region's rate limits and keeps the rest.
type LimitsSetCmd struct {
	Region, Etcd string
	Auth         EtcdAuth
	// Set maps a limit's field ("staff_writes") to its new value, nil to
	// remove it so its default applies.
	Set map[string]*configv1.RateLimit
}

// limitFields are the limits of a RateLimits document: flag, field, the
// limit in a document and the limit in force.
var limitFields = []struct {
	flag, field string
	get         func(*configv1.RateLimits) **configv1.RateLimit
	eff         func(*ratelimit.Limits) ratelimit.Rate
}{
	{"staff-reads", "staff_reads", func(r *configv1.RateLimits) **configv1.RateLimit { return &r.StaffReads },
		func(l *ratelimit.Limits) ratelimit.Rate { return l.Staff[ratelimit.Read] }},
	{"staff-writes", "staff_writes", func(r *configv1.RateLimits) **configv1.RateLimit { return &r.StaffWrites },
		func(l *ratelimit.Limits) ratelimit.Rate { return l.Staff[ratelimit.Write] }},
	{"department-reads", "department_reads", func(r *configv1.RateLimits) **configv1.RateLimit { return &r.DepartmentReads },
		func(l *ratelimit.Limits) ratelimit.Rate { return l.Department[ratelimit.Read] }},
	{"department-writes", "department_writes", func(r *configv1.RateLimits) **configv1.RateLimit { return &r.DepartmentWrites },
		func(l *ratelimit.Limits) ratelimit.Rate { return l.Department[ratelimit.Write] }},
}

// parseRate reads "PER_SECOND/BURST" ("5/20", "0.5/10"), or "default".
func parseRate(flag, v string) (*configv1.RateLimit, error) {
	if v == "default" {
		return nil, nil
	}
	rate, burst, ok := strings.Cut(v, "/")
	r, err1 := strconv.ParseFloat(rate, 64)
	b, err2 := strconv.ParseInt(burst, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("limits set: --%s %q: want PER_SECOND/BURST (5/20, 0.5/10) or default", flag, v)
	}
	return &configv1.RateLimit{PerSecond: r, Burst: int32(b)}, nil
}

func parseLimits(sub string, args []string, getenv func(string) string) (command, error) {
	fs := newFlags("limits " + sub)
	var region, etcd string
	var auth EtcdAuth
	fs.StringVar(&region, "region", DefaultRegion, "region (6 digits)")
	fs.StringVar(&etcd, "etcd", DefaultEtcd, "etcd endpoint")
	auth.register(fs, getenv)
	switch sub {
	case "get":
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if !names.IsRegion(region) {
			return nil, fmt.Errorf("limits get: --region %q: want 6 digits", region)
		}
		return &LimitsGetCmd{Region: region, Etcd: etcd, Auth: auth}, nil
	case "set":
		vals := make([]string, len(limitFields))
		for i, f := range limitFields {
			fs.StringVar(&vals[i], f.flag, "", "PER_SECOND/BURST, or default")
		}
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if !names.IsRegion(region) {
			return nil, fmt.Errorf("limits set: --region %q: want 6 digits", region)
		}
		c := &LimitsSetCmd{Region: region, Etcd: etcd, Auth: auth, Set: map[string]*configv1.RateLimit{}}
		for i, f := range limitFields {
			if vals[i] == "" {
				continue
			}
			r, err := parseRate(f.flag, vals[i])
			if err != nil {
				return nil, err
			}
			c.Set[f.field] = r
		}
		if len(c.Set) == 0 {
			return nil, errors.New("limits set: name at least one limit (--staff-reads, --staff-writes, --department-reads, --department-writes)")
		}
		return c, nil
	}
	return nil, fmt.Errorf("limits: unknown subcommand %q (want get or set)", sub)
}

// readLimits returns a region's stored document (empty when none) and its
// modification revision (0 when none).
func readLimits(ctx context.Context, cli *clientv3.Client, region string) (*configv1.RateLimits, int64, error) {
	key := regionconfig.RateLimitsSpec.Key(region, "")
	resp, err := cli.Get(ctx, key)
	if err != nil {
		return nil, 0, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return &configv1.RateLimits{}, 0, nil
	}
	doc, err := regionconfig.RateLimitsSpec.Decode(key, resp.Kvs[0].Value)
	if err != nil {
		return nil, 0, fmt.Errorf("%w (services keep the last valid value; fix it with limits set)", err)
	}
	return doc, resp.Kvs[0].ModRevision, nil
}

func printLimits(w io.Writer, region string, doc *configv1.RateLimits) error {
	eff := regionconfig.EffectiveRateLimits(doc)
	fmt.Fprintf(w, "rate limits of region %s (%s), per replica of each service:\n", region, regionconfig.RateLimitsSpec.Key(region, ""))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "limit\tper second\tburst\t")
	for _, f := range limitFields {
		r := f.eff(&eff)
		src := "set"
		if *f.get(doc) == nil {
			src = "default"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.field, strconv.FormatFloat(r.PerSecond, 'g', -1, 64), strconv.FormatFloat(r.Burst, 'g', -1, 64), src)
	}
	return tw.Flush()
}

func (c *LimitsGetCmd) run(ctx context.Context, stdout io.Writer) error {
	cli, err := c.Auth.dial(c.Etcd)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	doc, _, err := readLimits(ctx, cli, c.Region)
	if err != nil {
		return err
	}
	return printLimits(stdout, c.Region, doc)
}

// run changes the named limits of the stored document and writes it back
// only if nobody changed it meanwhile; an empty document is deleted.
func (c *LimitsSetCmd) run(ctx context.Context, stdout io.Writer) error {
	cli, err := c.Auth.dial(c.Etcd)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	doc, rev, err := readLimits(ctx, cli, c.Region)
	if err != nil {
		return err
	}
	for _, f := range limitFields {
		if r, ok := c.Set[f.field]; ok {
			*f.get(doc) = r
		}
	}
	if vs := regionconfig.RateLimitsSpec.Validate(c.Region, "", doc); len(vs) > 0 {
		return apierr.Invalid(vs...)
	}
	key := regionconfig.RateLimitsSpec.Key(c.Region, "")
	op := clientv3.OpDelete(key)
	empty := true
	for _, f := range limitFields {
		empty = empty && *f.get(doc) == nil
	}
	if !empty {
		raw, err := protojson.MarshalOptions{Multiline: true}.Marshal(doc)
		if err != nil {
			return err
		}
		op = clientv3.OpPut(key, string(raw))
	}
	resp, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).Then(op).Commit()
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("%s changed while it was being set: run limits set again", key)
	}
	return printLimits(stdout, c.Region, doc)
}
