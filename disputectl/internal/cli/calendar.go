package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
)

// CalendarConn is where calendar commands find a region's calendars: etcd,
// under /disputes/<region>/calendar/<year>, which every service watches.
type CalendarConn struct {
	Region, Etcd string
	Auth         EtcdAuth
}

func (c *CalendarConn) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.Region, "region", DefaultRegion, "region (6 digits)")
	fs.StringVar(&c.Etcd, "etcd", DefaultEtcd, "etcd endpoint")
	c.Auth.register(fs, getenv)
}

func (c *CalendarConn) check() error {
	if !names.IsRegion(c.Region) {
		return fmt.Errorf("--region %q: must be 6 digits", c.Region)
	}
	return nil
}

// CalendarSetCmd loads one year's holidays and make-up working days into
// etcd from a file an administrator wrote from the State Council's notice.
type CalendarSetCmd struct {
	Conn CalendarConn
	Year int
	File string
}

// CalendarGetCmd prints one year's calendar as stored.
type CalendarGetCmd struct {
	Conn CalendarConn
	Year int
}

// CalendarListCmd lists the years a region has calendars for and the years
// it is missing.
type CalendarListCmd struct {
	Conn CalendarConn
	// Now is the clock the missing years are judged at.
	Now func() time.Time
}

func parseCalendar(sub string, args []string, getenv func(string) string) (command, error) {
	fs := newFlags("calendar " + sub)
	var conn CalendarConn
	conn.register(fs, getenv)
	year := fs.Int("year", 0, "year, e.g. 2027")
	needYear := func() error {
		if *year < 2000 || *year > 2100 {
			return fmt.Errorf("calendar %s: --year is required (2000 to 2100)", sub)
		}
		return nil
	}
	switch sub {
	case "set":
		c := &CalendarSetCmd{}
		fs.StringVar(&c.File, "file", "", "the year's calendar: text (holiday DATE[..DATE] / workday DATE lines) or JSON")
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if err := needYear(); err != nil {
			return nil, err
		}
		if c.File == "" {
			return nil, errors.New("calendar set: --file is required")
		}
		c.Conn, c.Year = conn, *year
		return c, c.Conn.check()
	case "get":
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if err := needYear(); err != nil {
			return nil, err
		}
		c := &CalendarGetCmd{Conn: conn, Year: *year}
		return c, c.Conn.check()
	case "list":
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		c := &CalendarListCmd{Conn: conn}
		return c, c.Conn.check()
	}
	return nil, fmt.Errorf("calendar: unknown subcommand %q (want set, get or list)", sub)
}

func (c *CalendarSetCmd) run(ctx context.Context, stdout io.Writer) error {
	raw, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	cal, err := regionconfig.ParseCalendar(c.Year, raw)
	if err != nil {
		return fmt.Errorf("%s: %w", c.File, err)
	}
	sub := strconv.Itoa(c.Year)
	// Checked here first so nothing is written and the violations name the
	// file's dates; Put checks again.
	if vs := regionconfig.CalendarSpec.Validate(c.Conn.Region, sub, cal); len(vs) > 0 {
		return apierr.Invalid(vs...)
	}
	cli, err := c.Conn.Auth.dial(c.Conn.Etcd)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := regionconfig.Put(ctx, cli, regionconfig.CalendarSpec, c.Conn.Region, sub, cal); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stored the %d calendar of region %s at %s: %d holidays, %d make-up working days; services take it within a second\n",
		c.Year, c.Conn.Region, regionconfig.CalendarSpec.Key(c.Conn.Region, sub), len(cal.GetHolidays()), len(cal.GetMakeUpWorkdays()))
	return nil
}

func (c *CalendarGetCmd) run(ctx context.Context, stdout io.Writer) error {
	cli, err := c.Conn.Auth.dial(c.Conn.Etcd)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	key := regionconfig.CalendarSpec.Key(c.Conn.Region, strconv.Itoa(c.Year))
	resp, err := cli.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("region %s has no calendar for %d (%s): load it with calendar set", c.Conn.Region, c.Year, key)
	}
	cal, err := regionconfig.CalendarSpec.Decode(key, resp.Kvs[0].Value)
	if err != nil {
		return fmt.Errorf("the stored calendar is refused by the services, which keep the last valid one: %w", err)
	}
	b, err := printJSON.Marshal(cal)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(b))
	return nil
}

func (c *CalendarListCmd) run(ctx context.Context, stdout io.Writer) error {
	cli, err := c.Conn.Auth.dial(c.Conn.Etcd)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	prefix := regionconfig.CalendarSpec.Key(c.Conn.Region, "")
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("read %s: %w", prefix, err)
	}
	have := map[string]*configv1.BusinessCalendar{}
	for _, kv := range resp.Kvs {
		key := string(kv.Key)
		year := strings.TrimPrefix(key, prefix)
		cal, err := regionconfig.CalendarSpec.Decode(key, kv.Value)
		if err != nil {
			fmt.Fprintf(stdout, "%s  invalid, refused by the services: %v\n", year, err)
			continue
		}
		have[year] = cal
		fmt.Fprintf(stdout, "%s  %d holidays, %d make-up working days\n", year, len(cal.GetHolidays()), len(cal.GetMakeUpWorkdays()))
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	missing := regionconfig.MissingCalendars(have, now())
	slices.Sort(missing)
	for _, y := range missing {
		fmt.Fprintf(stdout, "%d  missing: deadlines that reach into it are refused; load it with calendar set --year %d\n", y, y)
	}
	return nil
}
