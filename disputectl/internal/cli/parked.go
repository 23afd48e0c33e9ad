package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// Redis of the development setup (`make run`) and the variable that
// overrides it, shared with the services.
const (
	DefaultRedis = "localhost:6390"
	RedisEnv     = "DISPUTES_REDIS_ADDR"
	// DefaultParkedLimit is how many entries `events parked list` prints.
	DefaultParkedLimit = 100
	// progressEvery is how often replay and drop of many entries report.
	progressEvery = 100
)

var streamIDRE = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// EventsConn is how event commands reach the streams' Redis.
type EventsConn struct {
	// Redis is the address of the Redis holding the event streams.
	Redis string
	// Region whose streams are read.
	Region string
	// User and PasswordFile authenticate to Redis (its ACL user).
	User, PasswordFile string
}

func (c *EventsConn) register(fs *flag.FlagSet, getenv func(string) string) {
	def := getenv(RedisEnv)
	if def == "" {
		def = DefaultRedis
	}
	fs.StringVar(&c.Redis, "redis-addr", def, "Redis address, or a Redis Cluster's nodes comma-separated (default env "+RedisEnv+", else "+DefaultRedis+")")
	fs.StringVar(&c.Region, "region", DefaultRegion, "region (6 digits)")
	fs.StringVar(&c.User, "redis-user", getenv(RedisUserEnv), "Redis ACL user (env "+RedisUserEnv+")")
	fs.StringVar(&c.PasswordFile, "redis-password-file", getenv(RedisPasswordEnv), "file holding the Redis user's password (env "+RedisPasswordEnv+")")
}

func (c *EventsConn) check() error {
	if !names.IsRegion(c.Region) {
		return fmt.Errorf("--region %q: must be 6 digits", c.Region)
	}
	if c.Redis == "" {
		return errors.New("--redis-addr is required")
	}
	return nil
}

// quietRedis drops go-redis's own log lines (failed dials and the like):
// the error a command returns is reported once, by Run.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// dial returns a client of c's Redis: a single server's for one address, a
// Redis Cluster's for several, comma-separated (as the services take them).
func (c *EventsConn) dial() (redis.UniversalClient, error) {
	redis.SetLogger(quietRedis{})
	opts, err := c.redisOptions()
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, a := range strings.Split(c.Redis, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) > 1 {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Username: opts.Username, Password: opts.Password,
			DialTimeout: opts.DialTimeout, MaxRetries: opts.MaxRetries}), nil
	}
	return redis.NewClient(opts), nil
}

// ParkedSelection picks parked entries: one by id, or all of a region
// (optionally of one group and/or source service).
type ParkedSelection struct {
	// ID is a parked entry id; with it, Group and Source are required.
	ID string
	// Group is the consumer group that parked the entries.
	Group string
	// Source is the service whose stream the entries were read from.
	Source string
	// All selects every parked entry that matches Group and Source.
	All bool
}

func (s *ParkedSelection) register(fs *flag.FlagSet) {
	fs.StringVar(&s.ID, "id", "", "parked entry id (as listed)")
	fs.StringVar(&s.Group, "group", "", "consumer group that parked it: "+strings.Join(events.Services, ", "))
	fs.StringVar(&s.Source, "source", "", "service whose stream it came from: "+strings.Join(events.Services, ", "))
	fs.BoolVar(&s.All, "all", false, "every parked entry of the region (of --group and --source when given)")
}

func checkService(flagName, v string) error {
	if v != "" && !slices.Contains(events.Services, v) {
		return fmt.Errorf("--%s %q: unknown (want %s)", flagName, v, strings.Join(events.Services, ", "))
	}
	return nil
}

func (s *ParkedSelection) check() error {
	if err := checkService("group", s.Group); err != nil {
		return err
	}
	if err := checkService("source", s.Source); err != nil {
		return err
	}
	switch {
	case s.All && s.ID != "":
		return errors.New("give either --id or --all, not both")
	case s.All:
		return nil
	case s.ID == "":
		return errors.New("--id (with --group and --source) or --all is required")
	case !streamIDRE.MatchString(s.ID):
		return fmt.Errorf("--id %q: want a stream entry id such as 1767225600000-0", s.ID)
	case s.Group == "" || s.Source == "":
		return errors.New("--id needs --group and --source to name the parked stream")
	}
	return nil
}

// matches reports whether the parked stream key falls under s's group and
// source filters.
func (s *ParkedSelection) matches(key string) bool {
	stream, group, ok := events.SplitParkedStream(key)
	if !ok || (s.Group != "" && group != s.Group) {
		return false
	}
	return s.Source == "" || strings.HasPrefix(stream, s.Source+":{")
}

// ParkedListCmd prints the parked entries of a region.
type ParkedListCmd struct {
	Conn  EventsConn
	Group string
	Limit int64
}

// ParkedReplayCmd puts parked entries back on their source streams.
type ParkedReplayCmd struct {
	Conn   EventsConn
	Select ParkedSelection
}

// ParkedDropCmd deletes parked entries for good.
type ParkedDropCmd struct {
	Conn   EventsConn
	Select ParkedSelection
	Reason string
}

func parseEvents(args []string, getenv func(string) string) (command, error) {
	if len(args) < 2 || args[0] != "parked" {
		return nil, errors.New("events: want parked list, parked replay or parked drop")
	}
	sub := args[1]
	fs := newFlags("events parked " + sub)
	prefix := func(err error) error {
		if err != nil {
			return fmt.Errorf("events parked %s: %w", sub, err)
		}
		return nil
	}
	switch sub {
	case "list":
		c := &ParkedListCmd{}
		c.Conn.register(fs, getenv)
		fs.StringVar(&c.Group, "group", "", "only entries parked by this consumer group")
		fs.Int64Var(&c.Limit, "limit", DefaultParkedLimit, "most entries to print (0 for all)")
		if err := parseFlags(fs, args[2:]); err != nil {
			return nil, err
		}
		if c.Limit < 0 {
			return nil, prefix(fmt.Errorf("--limit %d: must be 0 (all) or more", c.Limit))
		}
		if err := c.Conn.check(); err != nil {
			return nil, prefix(err)
		}
		return c, prefix(checkService("group", c.Group))
	case "replay":
		c := &ParkedReplayCmd{}
		c.Conn.register(fs, getenv)
		c.Select.register(fs)
		if err := parseFlags(fs, args[2:]); err != nil {
			return nil, err
		}
		if err := c.Conn.check(); err != nil {
			return nil, prefix(err)
		}
		return c, prefix(c.Select.check())
	case "drop":
		c := &ParkedDropCmd{}
		c.Conn.register(fs, getenv)
		c.Select.register(fs)
		fs.StringVar(&c.Reason, "reason", "", "why the entries are dropped (printed with them)")
		if err := parseFlags(fs, args[2:]); err != nil {
			return nil, err
		}
		if err := c.Conn.check(); err != nil {
			return nil, prefix(err)
		}
		if err := c.Select.check(); err != nil {
			return nil, prefix(err)
		}
		if strings.TrimSpace(c.Reason) == "" {
			return nil, prefix(errors.New("--reason is required (it is printed with what was dropped)"))
		}
		return c, nil
	}
	return nil, fmt.Errorf("events parked: unknown subcommand %q (want list, replay or drop)", sub)
}

// parkedStreams returns the region's parked streams that sel matches.
func parkedStreams(ctx context.Context, rdb redis.UniversalClient, region string, sel ParkedSelection) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	all, err := events.ParkedStreams(ctx, rdb, region)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range all {
		if sel.matches(k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *ParkedListCmd) run(ctx context.Context, stdout io.Writer) error {
	rdb, err := c.Conn.dial()
	if err != nil {
		return err
	}
	defer rdb.Close()
	keys, err := parkedStreams(ctx, rdb, c.Conn.Region, ParkedSelection{Group: c.Group})
	if err != nil {
		return err
	}
	var (
		rows  []events.Parked
		total int64
	)
	for _, k := range keys {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		n, err := rdb.XLen(cctx, k).Result()
		if err == nil && (c.Limit == 0 || int64(len(rows)) < c.Limit) {
			var page []events.Parked
			page, _, err = events.ListParked(cctx, rdb, k, "", c.Limit-int64(len(rows)))
			rows = append(rows, page...)
		}
		cancel()
		if err != nil {
			return err
		}
		total += n
	}
	if total == 0 {
		fmt.Fprintf(stdout, "no parked entries in region %s\n", c.Conn.Region)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARKED ID\tGROUP\tSTREAM\tTYPE\tDISPUTE\tEVENT ID\tERROR")
	for _, p := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ParkedID, p.Group, p.Stream, orDash(p.Type),
			orDash(p.Dispute), orDash(p.EventID), oneLine(p.Error))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "total: %d parked in region %s", total, c.Conn.Region)
	if int64(len(rows)) < total {
		fmt.Fprintf(stdout, " (%d shown; --limit 0 for all)", len(rows))
	}
	fmt.Fprintln(stdout)
	return nil
}

// targets returns the parked entries sel picks: the one named by --id
// (which must exist), or every one of the matching streams.
func (s ParkedSelection) targets(ctx context.Context, rdb redis.UniversalClient, region string) ([]events.Parked, error) {
	if !s.All {
		key := events.ParkedStream(events.Stream(s.Source, region), s.Group)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		p, err := events.GetParked(cctx, rdb, key, s.ID)
		if err != nil {
			return nil, err
		}
		return []events.Parked{p}, nil
	}
	keys, err := parkedStreams(ctx, rdb, region, s)
	if err != nil {
		return nil, err
	}
	var out []events.Parked
	for _, k := range keys {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		page, _, err := events.ListParked(cctx, rdb, k, "", 0)
		cancel()
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}

func describe(p events.Parked) string {
	return fmt.Sprintf("%s from %s (event %s, %s, dispute %s; parked by %s: %s)", p.ParkedID, p.ParkedStream,
		orDash(p.EventID), orDash(p.Type), orDash(p.Dispute), p.Group, oneLine(p.Error))
}

// progress prints "<verb> i/n" every progressEvery entries of a long run.
func progress(w io.Writer, verb string, i, n int) {
	if n > progressEvery && (i%progressEvery == 0 || i == n) {
		fmt.Fprintf(w, "%s %d/%d\n", verb, i, n)
	}
}

func (c *ParkedReplayCmd) run(ctx context.Context, stdout io.Writer) error {
	rdb, err := c.Conn.dial()
	if err != nil {
		return err
	}
	defer rdb.Close()
	targets, err := c.Select.targets(ctx, rdb, c.Conn.Region)
	if err != nil {
		return err
	}
	if !c.Select.All {
		p := targets[0]
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		if err := events.ReplayParked(cctx, rdb, p.ParkedStream, p.ParkedID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "replayed %s to %s\n", describe(p), p.Stream)
		return nil
	}
	var replayed, gone int
	var refused []string
	for i, p := range targets {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err := events.ReplayParked(cctx, rdb, p.ParkedStream, p.ParkedID)
		cancel()
		switch {
		case err == nil:
			replayed++
		case errors.Is(err, events.ErrParkedNotFound):
			gone++ // replayed or dropped by someone else meanwhile
		case errors.Is(err, events.ErrNotReplayable):
			refused = append(refused, p.ParkedStream+" "+p.ParkedID)
			fmt.Fprintf(stdout, "skipped %s: %v\n", describe(p), err)
		default:
			return fmt.Errorf("after %d of %d replayed: %w", replayed, len(targets), err)
		}
		progress(stdout, "replayed", i+1, len(targets))
	}
	fmt.Fprintf(stdout, "replayed %d of %d parked entries in region %s", replayed, len(targets), c.Conn.Region)
	if gone > 0 {
		fmt.Fprintf(stdout, "; %d were gone already", gone)
	}
	fmt.Fprintln(stdout)
	if len(refused) > 0 {
		return fmt.Errorf("%d entries cannot be replayed (why is printed above); drop them with --id and a --reason: %s",
			len(refused), strings.Join(refused, ", "))
	}
	return nil
}

func (c *ParkedDropCmd) run(ctx context.Context, stdout io.Writer) error {
	rdb, err := c.Conn.dial()
	if err != nil {
		return err
	}
	defer rdb.Close()
	targets, err := c.Select.targets(ctx, rdb, c.Conn.Region)
	if err != nil {
		return err
	}
	dropped := 0
	for i, p := range targets {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err := events.DropParked(cctx, rdb, p.ParkedStream, p.ParkedID)
		cancel()
		switch {
		case err == nil:
			dropped++
			fmt.Fprintf(stdout, "dropped %s\n", describe(p))
		case errors.Is(err, events.ErrParkedNotFound) && c.Select.All:
			// replayed or dropped by someone else meanwhile
		default:
			return err
		}
		progress(stdout, "dropped", i+1, len(targets))
	}
	fmt.Fprintf(stdout, "dropped %d parked entries in region %s; reason: %s\n", dropped, c.Conn.Region, c.Reason)
	return nil
}
