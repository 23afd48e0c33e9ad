package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// Conn is how roster commands reach the meeting service.
type Conn struct {
	// Addr is the meeting service's gRPC address.
	Addr string
	// Region whose roster is read or changed.
	Region string
	// Token is the bearer token; empty means mint an admin token from Key.
	Token string
	// Key is the private key to mint a token with.
	Key string
	// TLS is the client certificate and CA the service is reached with.
	TLS TLSFlags
}

func (c *Conn) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.Addr, "addr", DefaultAddr, "meeting service gRPC address")
	fs.StringVar(&c.Region, "region", DefaultRegion, "region (6 digits)")
	fs.StringVar(&c.Token, "token", getenv(TokenEnv), "bearer token (default env "+TokenEnv+")")
	fs.StringVar(&c.Key, "key", DefaultKey, "private key to mint an admin token with when no token is given")
	c.TLS.register(fs, getenv)
}

func (c *Conn) check() error {
	if !names.IsRegion(c.Region) {
		return fmt.Errorf("--region %q: must be 6 digits", c.Region)
	}
	if c.Addr == "" {
		return errors.New("--addr is required")
	}
	return nil
}

func (c *Conn) token() (string, error) {
	if c.Token != "" {
		return c.Token, nil
	}
	priv, err := authn.LoadPrivateKey(c.Key)
	if err != nil {
		return "", fmt.Errorf("no token (--token or %s) and cannot mint one: %w", TokenEnv, err)
	}
	return authn.Issue(priv, authn.Identity{
		Region: c.Region, Department: defaultAdminDep, Staff: defaultStaff, Roles: []string{authn.RoleAdmin},
	}, mintedTokenTTL)
}

func (c *Conn) dial() (rosterv1.RosterServiceClient, func(), error) {
	tok, err := c.token()
	if err != nil {
		return nil, nil, err
	}
	transport, err := c.TLS.dialOption("meeting")
	if err != nil {
		return nil, nil, err
	}
	conn, err := grpc.NewClient(c.Addr, transport, grpc.WithPerRPCCredentials(authn.TokenCredentials(tok)))
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", c.Addr, err)
	}
	return rosterv1.NewRosterServiceClient(conn), func() { conn.Close() }, nil
}

// RosterGetCmd prints the roster.
type RosterGetCmd struct{ Conn Conn }

// RosterSetCmd replaces the whole roster with a file's.
type RosterSetCmd struct {
	Conn         Conn
	File, Reason string
}

// RosterAddUnitCmd adds a member unit.
type RosterAddUnitCmd struct {
	Conn   Conn
	Unit   *rosterv1.MemberUnit
	Reason string
}

// RosterRemoveUnitCmd removes a member unit.
type RosterRemoveUnitCmd struct {
	Conn       Conn
	ID, Reason string
}

// RosterAddStaffCmd adds a named staff member to a unit, or changes the
// name and roles of one already there.
type RosterAddStaffCmd struct {
	Conn   Conn
	Unit   string
	Staff  *rosterv1.StaffMember
	Reason string
}

// RosterRemoveStaffCmd removes a staff member from the roster.
type RosterRemoveStaffCmd struct {
	Conn       Conn
	ID, Reason string
}

// RosterInitCmd seeds etcd with a roster file unless the region has one.
type RosterInitCmd struct {
	File, Etcd string
	Auth       EtcdAuth
}

func parseRoster(sub string, args []string, getenv func(string) string) (command, error) {
	fs := newFlags("roster " + sub)
	requireReason := func(reason string) error {
		if reason == "" {
			return fmt.Errorf("roster %s: --reason is required (it is recorded with the change)", sub)
		}
		return nil
	}
	switch sub {
	case "get":
		c := &RosterGetCmd{}
		c.Conn.register(fs, getenv)
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		return c, c.Conn.check()
	case "set":
		c := &RosterSetCmd{}
		c.Conn.register(fs, getenv)
		fs.StringVar(&c.File, "file", "", "roster file (protojson)")
		fs.StringVar(&c.Reason, "reason", "", "why")
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if c.File == "" {
			return nil, errors.New("roster set: --file is required")
		}
		if err := requireReason(c.Reason); err != nil {
			return nil, err
		}
		return c, c.Conn.check()
	case "add-unit":
		c := &RosterAddUnitCmd{Unit: &rosterv1.MemberUnit{}}
		c.Conn.register(fs, getenv)
		var duties stringList
		fs.StringVar(&c.Unit.Id, "id", "", "unit id, e.g. market")
		fs.StringVar(&c.Unit.Name, "name", "", "Chinese name")
		fs.StringVar(&c.Unit.Head, "head", "", "head of the unit and title")
		fs.BoolVar(&c.Unit.IntakePoint, "intake-point", false, "the unit registers disputes")
		fs.Var(&duties, "duty", "a duty (repeat for several)")
		fs.StringVar(&c.Reason, "reason", "", "why")
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		c.Unit.Duties = duties
		if c.Unit.GetId() == "" || c.Unit.GetName() == "" {
			return nil, errors.New("roster add-unit: --id and --name are required")
		}
		if err := requireReason(c.Reason); err != nil {
			return nil, err
		}
		return c, c.Conn.check()
	case "remove-unit":
		c := &RosterRemoveUnitCmd{}
		c.Conn.register(fs, getenv)
		fs.StringVar(&c.ID, "id", "", "unit id")
		fs.StringVar(&c.Reason, "reason", "", "why")
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if c.ID == "" {
			return nil, errors.New("roster remove-unit: --id is required")
		}
		if err := requireReason(c.Reason); err != nil {
			return nil, err
		}
		return c, c.Conn.check()
	case "add-staff":
		c := &RosterAddStaffCmd{Staff: &rosterv1.StaffMember{}}
		c.Conn.register(fs, getenv)
		var roles stringList
		fs.StringVar(&c.Unit, "unit", "", "member unit id, e.g. tax")
		fs.StringVar(&c.Staff.Id, "id", "", "staff id: the subject of the person's tokens, e.g. wang")
		fs.StringVar(&c.Staff.DisplayName, "name", "", "name printed on forms, e.g. 王小明")
		fs.Var(&roles, "role", "a role: clerk, handler, office, convenor, platform or admin (repeat for several)")
		fs.StringVar(&c.Reason, "reason", "", "why")
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		c.Staff.Roles = roles
		if c.Unit == "" || c.Staff.GetId() == "" || c.Staff.GetDisplayName() == "" || len(roles) == 0 {
			return nil, errors.New("roster add-staff: --unit, --id, --name and at least one --role are required")
		}
		if err := requireReason(c.Reason); err != nil {
			return nil, err
		}
		return c, c.Conn.check()
	case "remove-staff":
		c := &RosterRemoveStaffCmd{}
		c.Conn.register(fs, getenv)
		fs.StringVar(&c.ID, "id", "", "staff id")
		fs.StringVar(&c.Reason, "reason", "", "why")
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if c.ID == "" {
			return nil, errors.New("roster remove-staff: --id is required")
		}
		if err := requireReason(c.Reason); err != nil {
			return nil, err
		}
		return c, c.Conn.check()
	case "init":
		c := &RosterInitCmd{}
		fs.StringVar(&c.File, "file", "", "roster file (protojson)")
		fs.StringVar(&c.Etcd, "etcd", DefaultEtcd, "etcd endpoint")
		c.Auth.register(fs, getenv)
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if c.File == "" {
			return nil, errors.New("roster init: --file is required")
		}
		return c, nil
	}
	return nil, fmt.Errorf("roster: unknown subcommand %q (want get, set, add-unit, remove-unit, add-staff, remove-staff or init)", sub)
}

var printJSON = protojson.MarshalOptions{Multiline: true, Indent: "  "}

func printRoster(w io.Writer, r *rosterv1.Roster, stale bool) error {
	b, err := printJSON.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, string(b))
	if stale {
		fmt.Fprintln(w, "warning: stale: this is the service's last valid copy (etcd unreachable or holding an invalid roster)")
	}
	return nil
}

func getRoster(ctx context.Context, cli rosterv1.RosterServiceClient, region string) (*rosterv1.GetRosterResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return cli.GetRoster(ctx, &rosterv1.GetRosterRequest{Name: roster.Name(region)})
}

func (c *RosterGetCmd) run(ctx context.Context, stdout io.Writer) error {
	cli, closeConn, err := c.Conn.dial()
	if err != nil {
		return err
	}
	defer closeConn()
	resp, err := getRoster(ctx, cli, c.Conn.Region)
	if err != nil {
		return err
	}
	return printRoster(stdout, resp.GetRoster(), resp.GetStale())
}

// modify reads the roster, applies change and writes the named fields back
// with the etag read. When someone else changed the roster in between
// (ABORTED) it reads and applies once more.
func modify(ctx context.Context, conn Conn, fields []string, reason string, change func(r *rosterv1.Roster) error, stdout io.Writer) error {
	cli, closeConn, err := conn.dial()
	if err != nil {
		return err
	}
	defer closeConn()
	for attempt := 0; ; attempt++ {
		cur, err := getRoster(ctx, cli, conn.Region)
		if err != nil {
			return err
		}
		r := proto.Clone(cur.GetRoster()).(*rosterv1.Roster)
		if err := change(r); err != nil {
			return err
		}
		uctx, cancel := context.WithTimeout(ctx, callTimeout)
		resp, err := cli.UpdateRoster(uctx, &rosterv1.UpdateRosterRequest{
			Roster:     r,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: fields},
			Reason:     reason,
		})
		cancel()
		if status.Code(err) == codes.Aborted && attempt == 0 {
			continue
		}
		if err != nil {
			return err
		}
		return printRoster(stdout, resp.GetRoster(), false)
	}
}

func (c *RosterSetCmd) run(ctx context.Context, stdout io.Writer) error {
	file, err := roster.LoadFile(c.File)
	if err != nil {
		return err
	}
	if file.GetName() != "" && file.GetName() != roster.Name(c.Conn.Region) {
		return fmt.Errorf("%s is the roster %s, not %s (use --region)", c.File, file.GetName(), roster.Name(c.Conn.Region))
	}
	return modify(ctx, c.Conn, roster.Fields, c.Reason, func(r *rosterv1.Roster) error {
		etag := r.GetEtag()
		proto.Reset(r)
		proto.Merge(r, file)
		r.Name = roster.Name(c.Conn.Region)
		r.Etag = etag
		return nil
	}, stdout)
}

func (c *RosterAddUnitCmd) run(ctx context.Context, stdout io.Writer) error {
	return modify(ctx, c.Conn, []string{roster.FieldUnits}, c.Reason, func(r *rosterv1.Roster) error {
		if _, ok := roster.FindUnit(r, c.Unit.GetId()); ok {
			return fmt.Errorf("unit %q is already on the roster of %s", c.Unit.GetId(), c.Conn.Region)
		}
		r.Units = append(r.Units, proto.Clone(c.Unit).(*rosterv1.MemberUnit))
		return nil
	}, stdout)
}

func (c *RosterRemoveUnitCmd) run(ctx context.Context, stdout io.Writer) error {
	return modify(ctx, c.Conn, []string{roster.FieldUnits}, c.Reason, func(r *rosterv1.Roster) error {
		for i, u := range r.GetUnits() {
			if u.GetId() == c.ID {
				r.Units = append(r.Units[:i], r.Units[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("unit %q is not on the roster of %s", c.ID, c.Conn.Region)
	}, stdout)
}

func (c *RosterAddStaffCmd) run(ctx context.Context, stdout io.Writer) error {
	return modify(ctx, c.Conn, []string{roster.FieldUnits}, c.Reason, func(r *rosterv1.Roster) error {
		u, ok := roster.FindUnit(r, c.Unit)
		if !ok {
			return fmt.Errorf("unit %q is not on the roster of %s", c.Unit, c.Conn.Region)
		}
		if other, _, ok := roster.FindStaff(r, c.Staff.GetId()); ok && other.GetId() != c.Unit {
			return fmt.Errorf("staff id %q belongs to unit %s; staff ids are unique in the region (remove-staff first to move the person)", c.Staff.GetId(), other.GetId())
		}
		for i, p := range u.GetStaff() {
			if p.GetId() == c.Staff.GetId() {
				u.Staff[i] = proto.Clone(c.Staff).(*rosterv1.StaffMember)
				return nil
			}
		}
		u.Staff = append(u.Staff, proto.Clone(c.Staff).(*rosterv1.StaffMember))
		return nil
	}, stdout)
}

func (c *RosterRemoveStaffCmd) run(ctx context.Context, stdout io.Writer) error {
	return modify(ctx, c.Conn, []string{roster.FieldUnits}, c.Reason, func(r *rosterv1.Roster) error {
		u, _, ok := roster.FindStaff(r, c.ID)
		if !ok {
			return fmt.Errorf("staff %q is not on the roster of %s", c.ID, c.Conn.Region)
		}
		u.Staff = slices.DeleteFunc(u.Staff, func(p *rosterv1.StaffMember) bool { return p.GetId() == c.ID })
		return nil
	}, stdout)
}

func (c *RosterInitCmd) run(ctx context.Context, stdout io.Writer) error {
	r, err := roster.LoadFile(c.File)
	if err != nil {
		return err
	}
	region, err := roster.RegionOf(r.GetName())
	if err != nil {
		return fmt.Errorf("%s: %w", c.File, err)
	}
	cli, err := c.Auth.dial(c.Etcd)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	seeded, err := roster.InitIfEmpty(ctx, cli, r)
	if err != nil {
		return err
	}
	if seeded {
		fmt.Fprintf(stdout, "seeded the roster of region %s from %s (%d units)\n", region, c.File, len(r.GetUnits()))
	} else {
		fmt.Fprintf(stdout, "region %s already has a roster; left unchanged\n", region)
	}
	return nil
}
