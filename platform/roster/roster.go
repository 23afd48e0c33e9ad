// Package roster keeps each region's joint-meeting roster (成员单位名册) in
// etcd: its key layout, consistent reads, compare-and-swap writes with an
// audit trail, validation, and a Watcher that holds the last valid snapshot
// of every region so services keep serving when etcd is down or holds a bad
// value.
//
// Layout for region r (6-digit code):
//
//	/disputes/<r>/roster/region               protojson RegionInfo
//	/disputes/<r>/roster/units/<id>           protojson MemberUnit
//	/disputes/<r>/roster/leadership           protojson Leadership
//	/disputes/<r>/roster/jurisdictions/<code> protojson Jurisdiction
//	/disputes/<r>/roster-meta/rev             guard key bumped by every write
//	/disputes/<r>/roster-changes/<id>         JSON ChangeRecord, time-ordered
//
// A roster's etag is the etcd revision it was read at. A write succeeds only
// when no roster key (and not the guard key, which catches deletions) was
// modified after that revision.
package roster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/platform/names"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// Root is the etcd prefix under which every region's data lives.
const Root = "/disputes/"

// Field names accepted by Store (the top-level roster fields an update may
// replace).
const (
	FieldRegionName    = "region_name"
	FieldUnits         = "units"
	FieldLeadership    = "leadership"
	FieldJurisdictions = "jurisdictions"
)

// Fields lists every field Store can replace, in a fixed order.
var Fields = []string{FieldRegionName, FieldUnits, FieldLeadership, FieldJurisdictions}

// ErrStale is returned by Store when the roster changed after the etag the
// caller read (or the etag names a revision etcd has not reached).
var ErrStale = errors.New("roster changed since it was read (stale etag)")

// ErrNotFound is returned by Load when the region has no roster keys at all.
var ErrNotFound = errors.New("region has no roster")

var (
	nameRE = regexp.MustCompile(`^regions/([0-9]{6})/roster$`)
	// keyRE matches any roster key of any region: the watcher's filter.
	keyRE = regexp.MustCompile(`^/disputes/([0-9]{6})/roster/`)
)

// Prefix returns the etcd prefix of region's roster keys, with a trailing
// slash: "/disputes/141181/roster/".
func Prefix(region string) string { return Root + region + "/roster/" }

// RegionKey returns the key of region's RegionInfo.
func RegionKey(region string) string { return Prefix(region) + "region" }

// LeadershipKey returns the key of region's Leadership.
func LeadershipKey(region string) string { return Prefix(region) + "leadership" }

// UnitKey returns the key of one member unit.
func UnitKey(region, id string) string { return Prefix(region) + "units/" + id }

// JurisdictionKey returns the key of one jurisdiction.
func JurisdictionKey(region, code string) string { return Prefix(region) + "jurisdictions/" + code }

// GuardKey returns the key every write bumps, so a deleted roster key still
// makes an older etag stale.
func GuardKey(region string) string { return Root + region + "/roster-meta/rev" }

// ChangesPrefix returns the prefix of region's audit records.
func ChangesPrefix(region string) string { return Root + region + "/roster-changes/" }

// Name returns the resource name of region's roster: "regions/<r>/roster".
func Name(region string) string { return "regions/" + region + "/roster" }

// RegionOf returns the region of a roster resource name.
func RegionOf(name string) (string, error) {
	m := nameRE.FindStringSubmatch(name)
	if m == nil {
		return "", fmt.Errorf("roster name %q: want regions/<6 digits>/roster", name)
	}
	return m[1], nil
}

// RegionOfKey returns the region of a roster key, and whether key is one.
func RegionOfKey(key string) (string, bool) {
	m := keyRE.FindStringSubmatch(key)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func checkRegion(region string) error {
	if !names.IsRegion(region) {
		return fmt.Errorf("region %q: must be 6 digits", region)
	}
	return nil
}

// Load reads region's roster in one consistent read. The roster's Etag is
// the revision of that read, also returned as rev. A region with no keys is
// ErrNotFound; a value that does not decode is a *ValidationError whose
// violations name the etcd key. Load does not run Validate.
func Load(ctx context.Context, cli *clientv3.Client, region string) (*rosterv1.Roster, int64, error) {
	return LoadAt(ctx, cli, region, 0)
}

// LoadAt is Load at revision rev (0 means the latest).
func LoadAt(ctx context.Context, cli *clientv3.Client, region string, rev int64) (*rosterv1.Roster, int64, error) {
	if err := checkRegion(region); err != nil {
		return nil, 0, err
	}
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	resp, err := cli.Get(ctx, Prefix(region), opts...)
	if err != nil {
		return nil, 0, fmt.Errorf("load roster %s: %w", region, err)
	}
	read := resp.Header.Revision
	if rev > 0 {
		read = rev
	}
	if len(resp.Kvs) == 0 {
		return nil, read, fmt.Errorf("load roster %s: %w", region, ErrNotFound)
	}
	r, vs := decode(region, resp.Kvs)
	r.Etag = strconv.FormatInt(read, 10)
	if len(vs) > 0 {
		return nil, read, fmt.Errorf("load roster %s: %w", region, &ValidationError{Violations: vs})
	}
	return r, read, nil
}

var unmarshal = protojson.UnmarshalOptions{DiscardUnknown: false}

// decode builds a roster from region's key-values (sorted by key, as etcd
// returns them). Values that do not decode, keys that do not belong to the
// layout and ids that disagree with their key are violations naming the key.
func decode(region string, kvs []*mvccpb.KeyValue) (*rosterv1.Roster, []Violation) {
	r := &rosterv1.Roster{Name: Name(region)}
	var vs []Violation
	bad := func(key, reason string) { vs = append(vs, Violation{Field: key, Reason: reason}) }
	p := Prefix(region)
	for _, kv := range kvs {
		key := string(kv.Key)
		rest := strings.TrimPrefix(key, p)
		switch {
		case rest == "region":
			var info rosterv1.RegionInfo
			if err := unmarshal.Unmarshal(kv.Value, &info); err != nil {
				bad(key, "invalid JSON for RegionInfo: "+err.Error())
				continue
			}
			r.RegionName = info.GetRegionName()
		case rest == "leadership":
			var l rosterv1.Leadership
			if err := unmarshal.Unmarshal(kv.Value, &l); err != nil {
				bad(key, "invalid JSON for Leadership: "+err.Error())
				continue
			}
			r.Leadership = &l
		case strings.HasPrefix(rest, "units/"):
			id := strings.TrimPrefix(rest, "units/")
			var u rosterv1.MemberUnit
			if err := unmarshal.Unmarshal(kv.Value, &u); err != nil {
				bad(key, "invalid JSON for MemberUnit: "+err.Error())
				continue
			}
			if u.GetId() != id {
				bad(key, fmt.Sprintf("value has id %q, key says %q", u.GetId(), id))
				continue
			}
			r.Units = append(r.Units, &u)
		case strings.HasPrefix(rest, "jurisdictions/"):
			code := strings.TrimPrefix(rest, "jurisdictions/")
			var j rosterv1.Jurisdiction
			if err := unmarshal.Unmarshal(kv.Value, &j); err != nil {
				bad(key, "invalid JSON for Jurisdiction: "+err.Error())
				continue
			}
			if j.GetCode() != code {
				bad(key, fmt.Sprintf("value has code %q, key says %q", j.GetCode(), code))
				continue
			}
			r.Jurisdictions = append(r.Jurisdictions, &j)
		default:
			bad(key, "unknown roster key (want region, leadership, units/<id> or jurisdictions/<code>)")
		}
	}
	return r, vs
}

// LoadFile reads a roster written as protojson (the deploy/roster/<r>.json
// seed files). Unknown fields are an error.
func LoadFile(path string) (*rosterv1.Roster, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read roster file: %w", err)
	}
	var r rosterv1.Roster
	if err := unmarshal.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("roster file %s: %w", path, err)
	}
	return &r, nil
}

var marshal = protojson.MarshalOptions{}

// ops returns the Put ops that write fields of r for region, and the Delete
// ops for units and jurisdictions present in cur but not in r.
func ops(region string, r, cur *rosterv1.Roster, fields []string) ([]clientv3.Op, error) {
	var out []clientv3.Op
	put := func(key string, m proto.Message) error {
		b, err := marshal.Marshal(m)
		if err != nil {
			return fmt.Errorf("marshal %s: %w", key, err)
		}
		out = append(out, clientv3.OpPut(key, string(b)))
		return nil
	}
	for _, f := range fields {
		switch f {
		case FieldRegionName:
			if err := put(RegionKey(region), &rosterv1.RegionInfo{RegionName: r.GetRegionName()}); err != nil {
				return nil, err
			}
		case FieldLeadership:
			if r.GetLeadership() == nil {
				out = append(out, clientv3.OpDelete(LeadershipKey(region)))
				continue
			}
			if err := put(LeadershipKey(region), r.GetLeadership()); err != nil {
				return nil, err
			}
		case FieldUnits:
			keep := map[string]bool{}
			for _, u := range r.GetUnits() {
				keep[u.GetId()] = true
				if err := put(UnitKey(region, u.GetId()), u); err != nil {
					return nil, err
				}
			}
			for _, u := range cur.GetUnits() {
				if !keep[u.GetId()] {
					out = append(out, clientv3.OpDelete(UnitKey(region, u.GetId())))
				}
			}
		case FieldJurisdictions:
			keep := map[string]bool{}
			for _, j := range r.GetJurisdictions() {
				keep[j.GetCode()] = true
				if err := put(JurisdictionKey(region, j.GetCode()), j); err != nil {
					return nil, err
				}
			}
			for _, j := range cur.GetJurisdictions() {
				if !keep[j.GetCode()] {
					out = append(out, clientv3.OpDelete(JurisdictionKey(region, j.GetCode())))
				}
			}
		default:
			return nil, fmt.Errorf("unknown roster field %q", f)
		}
	}
	return out, nil
}

// Put writes the whole roster r (region from r.Name), deleting units and
// jurisdictions it no longer lists. It refuses a roster that fails Validate.
// It takes no etag: it is for seeding and tests.
func Put(ctx context.Context, cli *clientv3.Client, r *rosterv1.Roster) error {
	region, err := RegionOf(r.GetName())
	if err != nil {
		return fmt.Errorf("put roster: %w", err)
	}
	if vs := Validate(r); len(vs) > 0 {
		return fmt.Errorf("put roster %s: %w", region, &ValidationError{Violations: vs})
	}
	cur, err := currentKeys(ctx, cli, region)
	if err != nil {
		return fmt.Errorf("put roster %s: %w", region, err)
	}
	txnOps, err := ops(region, r, cur, Fields)
	if err != nil {
		return fmt.Errorf("put roster %s: %w", region, err)
	}
	txnOps = append(txnOps, clientv3.OpPut(GuardKey(region), "put"))
	if _, err := cli.Txn(ctx).Then(txnOps...).Commit(); err != nil {
		return fmt.Errorf("put roster %s: %w", region, err)
	}
	return nil
}

// currentKeys returns a roster listing the unit ids and jurisdiction codes
// present under region's prefix, whatever their values: what a write must
// delete when a field is replaced.
func currentKeys(ctx context.Context, cli *clientv3.Client, region string) (*rosterv1.Roster, error) {
	resp, err := cli.Get(ctx, Prefix(region), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	return keysOnly(region, resp.Kvs), nil
}

func keysOnly(region string, kvs []*mvccpb.KeyValue) *rosterv1.Roster {
	r := &rosterv1.Roster{}
	for _, kv := range kvs {
		rest := strings.TrimPrefix(string(kv.Key), Prefix(region))
		if id, ok := strings.CutPrefix(rest, "units/"); ok {
			r.Units = append(r.Units, &rosterv1.MemberUnit{Id: id})
		} else if code, ok := strings.CutPrefix(rest, "jurisdictions/"); ok {
			r.Jurisdictions = append(r.Jurisdictions, &rosterv1.Jurisdiction{Code: code})
		}
	}
	return r
}

// InitIfEmpty writes r only when its region has no roster yet (no region
// key), atomically, and reports whether it wrote. It refuses a roster that
// fails Validate. It is how a fresh deployment is seeded.
func InitIfEmpty(ctx context.Context, cli *clientv3.Client, r *rosterv1.Roster) (bool, error) {
	region, err := RegionOf(r.GetName())
	if err != nil {
		return false, fmt.Errorf("init roster: %w", err)
	}
	if vs := Validate(r); len(vs) > 0 {
		return false, fmt.Errorf("init roster %s: %w", region, &ValidationError{Violations: vs})
	}
	txnOps, err := ops(region, r, nil, Fields)
	if err != nil {
		return false, fmt.Errorf("init roster %s: %w", region, err)
	}
	txnOps = append(txnOps, clientv3.OpPut(GuardKey(region), "init"))
	resp, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(RegionKey(region)), "=", 0)).
		Then(txnOps...).
		Commit()
	if err != nil {
		return false, fmt.Errorf("init roster %s: %w", region, err)
	}
	return resp.Succeeded, nil
}

// ChangeRecord is the audit record of one Store, kept at
// /disputes/<r>/roster-changes/<id>. The caller fills Actor and Reason;
// Store fills the rest.
type ChangeRecord struct {
	// ID is time-ordered: keys sort in the order changes were made.
	ID string `json:"id"`
	// Time the change was made.
	Time time.Time `json:"time"`
	// Actor is who made it: "<region>/<department>/<staff>" ("141181/tax/wang").
	Actor string `json:"actor"`
	// Roles the actor held.
	Roles []string `json:"roles,omitempty"`
	// Reason is why.
	Reason string `json:"reason"`
	// Fields replaced.
	Fields []string `json:"fields"`
	// OldEtag is the etag the change was made against.
	OldEtag string `json:"old_etag"`
	// NewEtag is the revision of the write. It is not in the stored JSON
	// (the write cannot know its own revision) but is the record key's
	// ModRevision; Store and Changes fill it.
	NewEtag string `json:"new_etag,omitempty"`
	// UnitsAdded and UnitsRemoved are member unit ids.
	UnitsAdded   []string `json:"units_added,omitempty"`
	UnitsRemoved []string `json:"units_removed,omitempty"`
	// StaffAdded and StaffRemoved are staff members as "<unit>/<staff id>"
	// (a person moved to another unit is removed from one and added to the
	// other).
	StaffAdded   []string `json:"staff_added,omitempty"`
	StaffRemoved []string `json:"staff_removed,omitempty"`
}

// Store replaces fields (all of Fields when empty) of region's roster with
// those of r, provided the roster has not changed since expectEtag, and
// records change in the same transaction. The resulting roster must pass
// Validate, else a *ValidationError with paths like "units[2].id" (relative
// to the roster). A stale etag is ErrStale. On success change is filled in
// (Fields, OldEtag, NewEtag, UnitsAdded, UnitsRemoved, ID, Time) and the
// new etag returned.
func Store(ctx context.Context, cli *clientv3.Client, region string, r *rosterv1.Roster, fields []string, expectEtag string, change *ChangeRecord) (string, error) {
	if err := checkRegion(region); err != nil {
		return "", fmt.Errorf("store roster: %w", err)
	}
	fields, err := normalizeFields(fields)
	if err != nil {
		return "", fmt.Errorf("store roster %s: %w", region, err)
	}
	expect, err := strconv.ParseInt(expectEtag, 10, 64)
	if err != nil || expect <= 0 {
		return "", fmt.Errorf("store roster %s: %w", region,
			&ValidationError{Violations: []Violation{{Field: "etag", Reason: fmt.Sprintf("%q is not an etag from a read", expectEtag)}}})
	}
	if change == nil {
		change = &ChangeRecord{}
	}

	// Read the current roster: the base the named fields are merged into and
	// the keys a replaced field must delete. When the transaction below
	// succeeds nothing changed after expect, so this read is what is replaced.
	resp, err := cli.Get(ctx, Prefix(region), clientv3.WithPrefix())
	if err != nil {
		return "", fmt.Errorf("store roster %s: %w", region, err)
	}
	if expect > resp.Header.Revision {
		return "", fmt.Errorf("store roster %s: etag %d is ahead of etcd revision %d: %w", region, expect, resp.Header.Revision, ErrStale)
	}
	cur, curVs := decode(region, resp.Kvs)
	if len(curVs) > 0 && len(fields) < len(Fields) {
		// A base that does not decode can only be replaced as a whole.
		return "", fmt.Errorf("store roster %s: stored roster is unreadable, replace every field: %w", region, &ValidationError{Violations: curVs})
	}
	merged := merge(region, cur, r, fields)
	if vs := Validate(merged); len(vs) > 0 {
		return "", fmt.Errorf("store roster %s: %w", region, &ValidationError{Violations: vs})
	}

	txnOps, err := ops(region, merged, keysOnly(region, resp.Kvs), fields)
	if err != nil {
		return "", fmt.Errorf("store roster %s: %w", region, err)
	}
	now := time.Now().UTC()
	change.ID = changeID(now)
	change.Time = now
	change.Fields = fields
	change.OldEtag = expectEtag
	change.UnitsAdded, change.UnitsRemoved = nil, nil
	change.StaffAdded, change.StaffRemoved = nil, nil
	if slices.Contains(fields, FieldUnits) {
		change.UnitsAdded, change.UnitsRemoved = diffUnits(cur, merged)
		change.StaffAdded, change.StaffRemoved = diffStaff(cur, merged)
	}
	rec, err := json.Marshal(change)
	if err != nil {
		return "", fmt.Errorf("store roster %s: marshal change: %w", region, err)
	}
	txnOps = append(txnOps,
		clientv3.OpPut(GuardKey(region), expectEtag),
		clientv3.OpPut(ChangesPrefix(region)+change.ID, string(rec)),
	)
	tresp, err := cli.Txn(ctx).
		If(
			clientv3.Compare(clientv3.ModRevision(Prefix(region)).WithPrefix(), "<", expect+1),
			clientv3.Compare(clientv3.ModRevision(GuardKey(region)), "<", expect+1),
		).
		Then(txnOps...).
		Commit()
	if err != nil {
		return "", fmt.Errorf("store roster %s: %w", region, err)
	}
	if !tresp.Succeeded {
		return "", fmt.Errorf("store roster %s at etag %s: %w", region, expectEtag, ErrStale)
	}
	change.NewEtag = strconv.FormatInt(tresp.Header.Revision, 10)
	return change.NewEtag, nil
}

// Changes returns region's audit records, oldest first, at most limit of the
// newest (0 means all).
func Changes(ctx context.Context, cli *clientv3.Client, region string, limit int64) ([]ChangeRecord, error) {
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend)}
	if limit > 0 {
		opts = append(opts, clientv3.WithLimit(limit))
	}
	resp, err := cli.Get(ctx, ChangesPrefix(region), opts...)
	if err != nil {
		return nil, fmt.Errorf("roster changes %s: %w", region, err)
	}
	out := make([]ChangeRecord, 0, len(resp.Kvs))
	for i := len(resp.Kvs) - 1; i >= 0; i-- {
		c, err := decodeChange(resp.Kvs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ChangesAfter returns up to limit of region's audit records made after the
// record with id after (all from the oldest when after is ""), oldest first:
// how a publisher catches up on changes it has not announced yet.
func ChangesAfter(ctx context.Context, cli *clientv3.Client, region, after string, limit int64) ([]ChangeRecord, error) {
	p := ChangesPrefix(region)
	from := p
	if after != "" {
		from = p + after + "\x00"
	}
	opts := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(p))}
	if limit > 0 {
		opts = append(opts, clientv3.WithLimit(limit))
	}
	return readChanges(ctx, cli, region, from, opts...)
}

// readChanges reads and decodes the audit records of region from key with
// opts.
func readChanges(ctx context.Context, cli *clientv3.Client, region, key string, opts ...clientv3.OpOption) ([]ChangeRecord, error) {
	resp, err := cli.Get(ctx, key, opts...)
	if err != nil {
		return nil, fmt.Errorf("roster changes %s: %w", region, err)
	}
	out := make([]ChangeRecord, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		c, err := decodeChange(kv)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func decodeChange(kv *mvccpb.KeyValue) (ChangeRecord, error) {
	var c ChangeRecord
	if err := json.Unmarshal(kv.Value, &c); err != nil {
		return c, fmt.Errorf("roster change %s: %w", kv.Key, err)
	}
	c.NewEtag = strconv.FormatInt(kv.ModRevision, 10)
	return c, nil
}

var changeSeq atomic.Int64

// changeID is a key that sorts by time: UTC nanosecond timestamp, then the
// process id and a per-process counter against clock ties.
func changeID(t time.Time) string {
	return fmt.Sprintf("%s-%d-%06d", t.Format("20060102T150405.000000000Z"), os.Getpid(), changeSeq.Add(1)%1000000)
}

// normalizeFields checks fields against Fields and returns them deduplicated
// in the canonical order; empty means all.
func normalizeFields(fields []string) ([]string, error) {
	if len(fields) == 0 {
		return slices.Clone(Fields), nil
	}
	for _, f := range fields {
		if !slices.Contains(Fields, f) {
			return nil, &ValidationError{Violations: []Violation{{Field: "update_mask", Reason: fmt.Sprintf("unknown field %q (want one of %s)", f, strings.Join(Fields, ", "))}}}
		}
	}
	var out []string
	for _, f := range Fields {
		if slices.Contains(fields, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// merge returns cur with fields taken from r, named for region.
func merge(region string, cur, r *rosterv1.Roster, fields []string) *rosterv1.Roster {
	m := proto.Clone(cur).(*rosterv1.Roster)
	m.Name = Name(region)
	m.Etag = ""
	for _, f := range fields {
		switch f {
		case FieldRegionName:
			m.RegionName = r.GetRegionName()
		case FieldUnits:
			m.Units = cloneAll(r.GetUnits())
		case FieldLeadership:
			m.Leadership = nil
			if r.GetLeadership() != nil {
				m.Leadership = proto.Clone(r.GetLeadership()).(*rosterv1.Leadership)
			}
		case FieldJurisdictions:
			m.Jurisdictions = cloneAll(r.GetJurisdictions())
		}
	}
	return m
}

func cloneAll[M proto.Message](ms []M) []M {
	out := make([]M, len(ms))
	for i, m := range ms {
		out[i] = proto.Clone(m).(M)
	}
	return out
}

func diffUnits(old, cur *rosterv1.Roster) (added, removed []string) {
	had := map[string]bool{}
	for _, u := range old.GetUnits() {
		had[u.GetId()] = true
	}
	has := map[string]bool{}
	for _, u := range cur.GetUnits() {
		has[u.GetId()] = true
		if !had[u.GetId()] {
			added = append(added, u.GetId())
		}
	}
	for _, u := range old.GetUnits() {
		if !has[u.GetId()] {
			removed = append(removed, u.GetId())
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// staffKeys returns every staff member of r as "<unit>/<staff id>".
func staffKeys(r *rosterv1.Roster) map[string]bool {
	out := map[string]bool{}
	for _, u := range r.GetUnits() {
		for _, p := range u.GetStaff() {
			out[u.GetId()+"/"+p.GetId()] = true
		}
	}
	return out
}

func diffStaff(old, cur *rosterv1.Roster) (added, removed []string) {
	had, has := staffKeys(old), staffKeys(cur)
	for k := range has {
		if !had[k] {
			added = append(added, k)
		}
	}
	for k := range had {
		if !has[k] {
			removed = append(removed, k)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// FindStaff returns the staff member with id and the unit it belongs to.
func FindStaff(r *rosterv1.Roster, id string) (*rosterv1.MemberUnit, *rosterv1.StaffMember, bool) {
	for _, u := range r.GetUnits() {
		for _, p := range u.GetStaff() {
			if p.GetId() == id {
				return u, p, true
			}
		}
	}
	return nil, nil, false
}

// StaffNames maps every staff id of r to its display name.
func StaffNames(r *rosterv1.Roster) map[string]string {
	out := map[string]string{}
	for _, u := range r.GetUnits() {
		for _, p := range u.GetStaff() {
			out[p.GetId()] = p.GetDisplayName()
		}
	}
	return out
}

// JurisdictionName returns the name of the jurisdiction with code.
func JurisdictionName(r *rosterv1.Roster, code string) (string, bool) {
	for _, j := range r.GetJurisdictions() {
		if j.GetCode() == code {
			return j.GetName(), true
		}
	}
	return "", false
}

// FindUnit returns the member unit with id.
func FindUnit(r *rosterv1.Roster, id string) (*rosterv1.MemberUnit, bool) {
	for _, u := range r.GetUnits() {
		if u.GetId() == id {
			return u, true
		}
	}
	return nil, false
}

// IsIntakePoint reports whether unit id exists and registers disputes.
func IsIntakePoint(r *rosterv1.Roster, id string) bool {
	u, ok := FindUnit(r, id)
	return ok && u.GetIntakePoint()
}

// HasJurisdiction reports whether the region has a jurisdiction with code.
func HasJurisdiction(r *rosterv1.Roster, code string) bool {
	for _, j := range r.GetJurisdictions() {
		if j.GetCode() == code {
			return true
		}
	}
	return false
}

// OfficeHost returns the id of the unit hosting the joint-meeting office.
func OfficeHost(r *rosterv1.Roster) string { return r.GetLeadership().GetOfficeHostUnit() }

// ChangesBefore returns up to limit of region's audit records made before
// the record with id before (from the newest when before is ""), newest
// first: how the audit trail is read a page at a time.
func ChangesBefore(ctx context.Context, cli *clientv3.Client, region, before string, limit int64) ([]ChangeRecord, error) {
	p := ChangesPrefix(region)
	end := clientv3.GetPrefixRangeEnd(p)
	if before != "" {
		end = p + before
	}
	opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend)}
	if limit > 0 {
		opts = append(opts, clientv3.WithLimit(limit))
	}
	return readChanges(ctx, cli, region, p, opts...)
}
