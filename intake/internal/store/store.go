// Package store keeps intake's disputes in Redis: the registration form,
// the per-region-year number sequence, request-id and external-reference
// indexes, the by-time indexes lists read (the region's and each
// department's), the links between a claimant's disputes, the open-dispute
// indexes links and mass-dispute counts are drawn from, the departments
// holding each dispute, and the event stream, each state change written
// together with its events in one atomic operation.
//
// Every key is events.Key("intake", region, ...), so one region's keys share
// the {region} hash tag and one Redis Cluster slot.
package store

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// Service is the key prefix and event source of intake.
const Service = "intake"

//go:embed register.lua
var registerLua string

// Store is intake's Redis storage. It is safe for concurrent use, and any
// number of Stores (one per replica) may share one Redis.
type Store struct {
	rdb      redis.UniversalClient
	register *redis.Script
	batch    batcher
}

// New returns a Store on rdb.
func New(rdb redis.UniversalClient) *Store {
	return &Store{rdb: rdb, register: redis.NewScript(registerLua),
		batch: batcher{queue: make(chan *regCall, queueCapacity)}}
}

// DisputeKey returns the key of dispute id's stored form.
func DisputeKey(region, id string) string { return events.Key(Service, region, "dispute", id) }

// SequenceKey returns the key of the region's number sequence for year.
func SequenceKey(region string, year int) string {
	return events.Key(Service, region, "seq", strconv.Itoa(year))
}

// IndexKey returns the key of the region's by-registration-time index.
func IndexKey(region string) string { return events.Key(Service, region, "by-time") }

// requestKey is the idempotency record of a department's request id. Each
// department has a key space of its own: the same request id from another
// department is another registration, and never returns this one's dispute.
func requestKey(region, department, requestID string) string {
	return events.Key(Service, region, "request", department, requestID)
}

func externalRefKey(region string, ch typesv1.Channel, ref string) string {
	return events.Key(Service, region, "extref", ch.String(), ref)
}

// DepartmentIndexKey returns the key of the by-registration-time index of
// the disputes a department registered, holds or held.
func DepartmentIndexKey(region, department string) string {
	return events.Key(Service, region, "by-dept", department)
}

// setPrefix is the prefix of a region's per-dispute sets: "links:<id>"
// (linked dispute names) and "holders:<id>" (departments).
func setPrefix(region string) string { return events.Key(Service, region, "") }

// LinksKey returns the key of the set of disputes linked to dispute id.
func LinksKey(region, id string) string { return setPrefix(region) + "links:" + id }

// HoldersKey returns the key of the set of departments holding or having
// held dispute id.
func HoldersKey(region, id string) string { return setPrefix(region) + "holders:" + id }

// hashed returns a digest of a claimant's or employer's identifier, so keys
// (which show up in monitoring and error messages) hold no personal
// numbers or names.
func hashed(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// ClaimantKey returns the key of the open disputes in category of the
// claimant with identifier (dispute.Identifiers).
func ClaimantKey(region, identifier string, category typesv1.Category) string {
	return events.Key(Service, region, "open-claimant", hashed(identifier), category.String())
}

// EmployerKey returns the key of the open disputes against employer
// (dispute.Employer), by registration time.
func EmployerKey(region, employer string) string {
	return events.Key(Service, region, "open-employer", hashed(employer))
}

// EpisodeKey returns the key of employer's open mass-dispute warning
// episode: the warning's id and how many disputes it names (register.lua).
func EpisodeKey(region, employer string) string {
	return events.Key(Service, region, "mass-episode", hashed(employer))
}

// openIndexes returns the open-dispute indexes a dispute of region is in
// until it closes: its claimant's in its category, one per identifier, and
// its employer's. They are derived from the stored form, at registration and
// again when the dispute closes, so no list of them is kept per dispute.
func openIndexes(region string, d *intakev1.Dispute) []string {
	ids, employer := indexedBy(d)
	keys := make([]string, 0, len(ids)+1)
	for _, id := range ids {
		keys = append(keys, ClaimantKey(region, id, d.GetCategory()))
	}
	if employer != "" {
		keys = append(keys, EmployerKey(region, employer))
	}
	return keys
}

// indexedBy returns the claimant's identifiers (dispute.Identifiers) and the
// employer (dispute.Employer) of a stored form.
func indexedBy(d *intakev1.Dispute) (identifiers []string, employer string) {
	f := formOfStored(d)
	return dispute.Identifiers(f.Claimant), dispute.Employer(f)
}

// formOfStored returns the claimant and employer of a stored form.
func formOfStored(d *intakev1.Dispute) dispute.Form {
	c := d.GetClaimant()
	return dispute.Form{
		Claimant: dispute.Claimant{
			Kind: c.GetKind(), Name: c.GetName(), Phone: c.GetPhone(), IDNumber: c.GetIdNumber(), CreditCode: c.GetCreditCode(),
		},
		EmployerName: d.GetEmployerName(), EmployerCreditCode: d.GetEmployerCreditCode(),
	}
}

// Registration is one registration to store.
type Registration struct {
	// Region and RequestID, with the dispute's registering department (the
	// caller's own), key the idempotency record.
	Region, RequestID string
	// FormDigest identifies the form as the caller sent it (FormDigest): a
	// retry with the same request id replays only when it matches. Empty
	// means FormDigest of Dispute less the fields the service fills.
	FormDigest string
	// Time is the registration time; it sets the numbering year and the
	// index score.
	Time time.Time
	// Dispute is the complete form except its name and number, which the
	// store allocates. A registration that is created completes it in
	// place, and Register returns it.
	Dispute *intakev1.Dispute
	// Actor is who registers; the events (DisputeRegistered, and
	// DisputesLinked and MassDisputeWarning when raised) carry it, with
	// Region, Time and intake as their source. DisputeRegistered carries the
	// form as registered, less the receipt's lookup code, which only those
	// allowed to read the dispute get.
	Actor *typesv1.Actor
	// Identifiers are the claimant's (dispute.Identifiers): the dispute is
	// linked to the open disputes of the same category sharing any of them.
	// They must be those of Dispute's claimant, from which closing derives
	// them again.
	Identifiers []string
	// Employer is the employer the dispute is against (dispute.Employer),
	// or "" for none; like Identifiers, it must be Dispute's.
	Employer string
	// Mass is when the registration raises a MassDisputeWarning or adds
	// to its employer's; zero thresholds never do.
	Mass dispute.MassRule
}

// Register stores r atomically and returns the dispute with its name,
// number, linked disputes and mass-dispute mark. A request id the same
// department used before for the same form returns the dispute it
// registered and replayed true, without allocating a number; used for
// another form, it is dispute.ErrRequestIDReused. An external reference
// already registered on the same channel is a *dispute.DuplicateRefError,
// also without allocating a number.
func (s *Store) Register(ctx context.Context, r Registration) (d *intakev1.Dispute, replayed bool, err error) {
	call, err := prepare(r)
	if err != nil {
		return nil, false, err
	}
	res, err := s.runRegister(ctx, call)
	if err != nil {
		return nil, false, fmt.Errorf("register script: %w", err)
	}
	return s.registered(ctx, r, res)
}

// The field of Dispute the script appends after the form (the lookup
// code), and the event types and payload type URLs it publishes.
var (
	lookupCodeField = (&intakev1.Dispute{}).ProtoReflect().Descriptor().Fields().ByName("lookup_code").Number()
	eventTypes      = scriptTypes(&intakev1.DisputeRegistered{}, &intakev1.DisputesLinked{}, &intakev1.MassDisputeWarning{})
)

// scriptTypes returns the type and payload type URL of each message, in
// register.lua's header order.
func scriptTypes(ms ...proto.Message) []any {
	out := make([]any, 0, 2*len(ms))
	for _, m := range ms {
		name := string(m.ProtoReflect().Descriptor().FullName())
		out = append(out, name, "type.googleapis.com/"+name)
	}
	return out
}

// FormDigest returns a digest (hex SHA-256 of the deterministic encoding)
// of a form, which callers compute over the form as the client sent it, so
// a retry of the same request matches whatever the service adds (time,
// staff, lookup code, defaults).
func FormDigest(d *intakev1.Dispute) (string, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("form digest: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// serviceFilled returns a copy of d without the fields the service fills
// at registration.
func serviceFilled(d *intakev1.Dispute) *intakev1.Dispute {
	c := proto.Clone(d).(*intakev1.Dispute)
	c.RegisteringStaff, c.FirstReceiver, c.RegisterTime, c.LookupCode = "", "", nil, ""
	return c
}

// prepare checks r and returns its part of a registration script run.
func prepare(r Registration) (*regCall, error) {
	d := r.Dispute
	if d.GetName() != "" || d.GetNumber() != "" {
		return nil, errors.New("register: name and number are allocated by the store")
	}
	if ids, employer := indexedBy(d); !slices.Equal(ids, r.Identifiers) || employer != r.Employer {
		return nil, errors.New("register: identifiers and employer differ from the dispute's claimant and employer")
	}
	// The form without the lookup code is the events' payload; the stored
	// form is it with the lookup code appended (the concatenation rule).
	code := d.GetLookupCode()
	d.LookupCode = ""
	form, err := proto.Marshal(d)
	d.LookupCode = code
	if err != nil {
		return nil, fmt.Errorf("register: marshal dispute: %w", err)
	}
	var codeField []byte
	if code != "" {
		codeField = protowire.AppendString(protowire.AppendTag(nil, lookupCodeField, protowire.BytesType), code)
	}
	// The envelope fields all three events share; the script adds id,
	// type, dispute and payload.
	tail, err := proto.Marshal(&eventv1.Event{
		Region: r.Region, Actor: r.Actor, Time: timestamppb.New(r.Time), Source: Service,
	})
	if err != nil {
		return nil, fmt.Errorf("register: marshal envelope: %w", err)
	}
	digest := r.FormDigest
	if digest == "" {
		if digest, err = FormDigest(serviceFilled(d)); err != nil {
			return nil, err
		}
	}
	// The warnings' payloads as far as they do not depend on what the
	// script finds.
	employerName, creditCode := dispute.EmployerOf(formOfStored(d))
	warning := func(trigger string) ([]byte, error) {
		b, err := proto.Marshal(&intakev1.MassDisputeWarning{
			Trigger: trigger, PeopleInvolved: d.GetPeopleInvolved(), AddressedTo: r.Mass.AddressedTo,
			EmployerName: employerName, EmployerCreditCode: creditCode,
		})
		if err != nil {
			return nil, fmt.Errorf("register: marshal warning: %w", err)
		}
		return b, nil
	}
	peopleWarning, err := warning(dispute.TriggerPeople)
	if err != nil {
		return nil, err
	}
	employerWarning, err := warning(dispute.TriggerEmployer)
	if err != nil {
		return nil, err
	}
	// DisputeRegistered, DisputesLinked and the two MassDisputeWarnings
	// share their time; readers that order events by time and id see them
	// in this order.
	ids := events.NewIDs(r.Time, 4)
	call := &regCall{region: r.Region, year: dispute.Year(r.Time), keys: make([]string, 0, 5)}
	call.keys = append(call.keys, requestKey(r.Region, d.GetRegisteringDepartment(), r.RequestID), DepartmentIndexKey(r.Region, d.GetRegisteringDepartment()))
	nExtref, nEmployer := 0, 0
	if ref := d.GetExternalRef(); ref != "" {
		call.keys = append(call.keys, externalRefKey(r.Region, d.GetChannel(), ref))
		nExtref = 1
	}
	for _, id := range r.Identifiers {
		call.keys = append(call.keys, ClaimantKey(r.Region, id, d.GetCategory()))
	}
	if r.Employer != "" {
		call.keys = append(call.keys, EmployerKey(r.Region, r.Employer), EpisodeKey(r.Region, r.Employer))
		nEmployer = 1
	}
	call.args = make([]any, 0, fixedArgs)
	call.args = append(call.args,
		nExtref, len(r.Identifiers), nEmployer, form, codeField, tail,
		ids[0], ids[1], ids[2], r.Time.UnixMilli(),
		d.GetPeopleInvolved(), r.Mass.People, r.Mass.EmployerDisputes, r.Time.Add(-r.Mass.Window).UnixMilli(),
		ids[3], digest, peopleWarning, employerWarning, r.Mass.Window.Milliseconds(), dispute.MaxWarningListed)
	return call, nil
}

// registered interprets the script's reply res to registration r.
func (s *Store) registered(ctx context.Context, r Registration, res []string) (d *intakev1.Dispute, replayed bool, err error) {
	if len(res) < 2 {
		return nil, false, fmt.Errorf("register script: unexpected reply %q", res)
	}
	switch res[0] {
	case "reused":
		return nil, false, dispute.ErrRequestIDReused
	case "duplicate":
		return nil, false, &dispute.DuplicateRefError{
			Channel: r.Dispute.GetChannel().String(), Ref: r.Dispute.GetExternalRef(), Existing: dispute.Name(r.Region, res[1]),
		}
	case "replayed":
		if len(res) != 3 {
			return nil, false, fmt.Errorf("register script: unexpected reply %q", res)
		}
		d, err := decode(res[1], []byte(res[2]))
		if err != nil {
			return nil, false, err
		}
		if err := s.decorate(ctx, r.Region, []*intakev1.Dispute{d}); err != nil {
			return nil, false, err
		}
		return d, true, nil
	case "created":
		if len(res) < 5 {
			return nil, false, fmt.Errorf("register script: unexpected reply %q", res)
		}
		// The stored form is the one sent, completed as the script
		// completed it: name, number, the mark of a mass dispute (res[3],
		// its trigger; res[4] is the employer count), and the links.
		d := r.Dispute
		d.Name, d.Number, d.MassDispute = dispute.Name(r.Region, res[1]), res[2], res[3] != ""
		if len(res) > 5 {
			d.LinkedDisputes = res[5:]
		}
		return d, false, nil
	}
	return nil, false, fmt.Errorf("register script: unexpected reply %q", res[0])
}

// decorate fills the disputes' linked disputes and holders from their sets.
func (s *Store) decorate(ctx context.Context, region string, ds []*intakev1.Dispute) error {
	if len(ds) == 0 {
		return nil
	}
	links := make([]*redis.StringSliceCmd, len(ds))
	holders := make([]*redis.StringSliceCmd, len(ds))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, d := range ds {
			_, id, err := names.DisputeID(d.GetName())
			if err != nil {
				return err
			}
			links[i] = pipe.SMembers(ctx, LinksKey(region, id))
			holders[i] = pipe.SMembers(ctx, HoldersKey(region, id))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read links and holders: %w", err)
	}
	for i, d := range ds {
		d.LinkedDisputes = sortedNames(links[i].Val())
		d.Holders = sorted(holders[i].Val())
	}
	return nil
}

func sorted(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	slices.Sort(ss)
	return ss
}

// sortedNames sorts dispute names by year and number.
func sortedNames(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	slices.SortFunc(names, func(a, b string) int {
		return strings.Compare(indexMember(idOfName(a)), indexMember(idOfName(b)))
	})
	return names
}

func idOfName(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

// Get returns dispute id of region with its linked disputes and holders,
// or dispute.ErrNotFound.
func (s *Store) Get(ctx context.Context, region, id string) (*intakev1.Dispute, error) {
	b, err := s.rdb.Get(ctx, DisputeKey(region, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, dispute.NotFound(dispute.Name(region, id))
	}
	if err != nil {
		return nil, fmt.Errorf("get dispute %s: %w", id, err)
	}
	d, err := decode(id, b)
	if err != nil {
		return nil, err
	}
	if err := s.decorate(ctx, region, []*intakev1.Dispute{d}); err != nil {
		return nil, err
	}
	return d, nil
}

// GetMany returns disputes ids of region with their linked disputes and
// holders, in one MGET and one pipeline; a dispute that does not exist is
// nil in its place.
func (s *Store) GetMany(ctx context.Context, region string, ids []string) ([]*intakev1.Dispute, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = DisputeKey(region, id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("get disputes of %s: %w", region, err)
	}
	out := make([]*intakev1.Dispute, len(ids))
	var found []*intakev1.Dispute
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		if out[i], err = decode(ids[i], []byte(str)); err != nil {
			return nil, err
		}
		found = append(found, out[i])
	}
	if err := s.decorate(ctx, region, found); err != nil {
		return nil, err
	}
	return out, nil
}

// InDepartment reports, for each dispute name in ns, whether it is in the
// index of the disputes department registered, holds or held (the index a
// department's list reads), in one command. A name of another region or a
// malformed one is false.
func (s *Store) InDepartment(ctx context.Context, region, department string, ns []string) ([]bool, error) {
	out := make([]bool, len(ns))
	members := make([]string, 0, len(ns))
	at := make([]int, 0, len(ns))
	for i, n := range ns {
		r, id, err := names.DisputeID(n)
		if err != nil || r != region {
			continue
		}
		members, at = append(members, indexMember(id)), append(at, i)
	}
	if len(members) == 0 {
		return out, nil
	}
	scores, err := s.rdb.ZMScore(ctx, DepartmentIndexKey(region, department), members...).Result()
	if err != nil {
		return nil, fmt.Errorf("read department index: %w", err)
	}
	for j, sc := range scores {
		// go-redis reports a missing member as 0; no registration time is 0.
		out[at[j]] = sc != 0
	}
	return out, nil
}

func decode(id string, b []byte) (*intakev1.Dispute, error) {
	d := &intakev1.Dispute{}
	if err := proto.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("decode dispute %s: %w", id, err)
	}
	return d, nil
}

// maxAttempts bounds optimistic retries of one update under contention.
const maxAttempts = 50

// Update changes dispute id of region with change and publishes the event
// change returns, in one MULTI/EXEC that fails and retries when the dispute
// changed since it was read. An error from change aborts without writing.
// The dispute is returned with its linked disputes and holders.
func (s *Store) Update(ctx context.Context, region, id string,
	change func(d *intakev1.Dispute) (*eventv1.Event, error)) (*intakev1.Dispute, error) {
	return s.update(ctx, region, id, false, change)
}

// Withdraw is Update for a change that ends the dispute (the claimant's
// withdrawal): in the same transaction the dispute leaves the open-dispute
// indexes, so later registrations are no longer linked to it nor count it
// against its employer.
func (s *Store) Withdraw(ctx context.Context, region, id string,
	change func(d *intakev1.Dispute) (*eventv1.Event, error)) (*intakev1.Dispute, error) {
	return s.update(ctx, region, id, true, change)
}

func (s *Store) update(ctx context.Context, region, id string, closes bool,
	change func(d *intakev1.Dispute) (*eventv1.Event, error)) (*intakev1.Dispute, error) {
	key := DisputeKey(region, id)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		var out *intakev1.Dispute
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			b, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				return dispute.NotFound(dispute.Name(region, id))
			}
			if err != nil {
				return fmt.Errorf("get dispute %s: %w", id, err)
			}
			d, err := decode(id, b)
			if err != nil {
				return err
			}
			var indexes []string
			if closes {
				indexes = openIndexes(region, d)
			}
			ev, err := change(d)
			if err != nil {
				return err
			}
			nb, err := proto.Marshal(d)
			if err != nil {
				return fmt.Errorf("marshal dispute %s: %w", id, err)
			}
			if _, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.Set(ctx, key, nb, 0)
				leaveOpen(ctx, pipe, indexes, id)
				return events.Append(ctx, pipe, events.Stream(Service, region), ev)
			}); err != nil {
				return err
			}
			out = d
			return nil
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := s.decorate(ctx, region, []*intakev1.Dispute{out}); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("update dispute %s: too much contention", id)
}

// leaveOpen queues the removal of dispute id from the open-dispute indexes
// (openIndexes); removing it again once it has left is a no-op.
func leaveOpen(ctx context.Context, pipe redis.Pipeliner, indexes []string, id string) {
	for _, k := range indexes {
		pipe.ZRem(ctx, k, id)
	}
}

// Cursor is a position in the by-time index: the last dispute returned.
type Cursor struct {
	Score int64
	ID    string
}

// Query selects disputes of a region, newest first.
type Query struct {
	Region string
	// From and To bound the registration time to [From, To); zero is open.
	From, To time.Time
	// After continues a previous page; nil starts at the newest.
	After *Cursor
	// Size is the page size.
	Size int
	// Keep filters loaded disputes; nil keeps all.
	Keep func(*intakev1.Dispute) bool
	// Department limits the list to the disputes this department
	// registered, holds or held ("" for the whole region).
	Department string
}

// List returns up to q.Size disputes matching q, newest first, with their
// linked disputes and holders, and the cursor of the next page (nil when
// the index has nothing after the page).
func (s *Store) List(ctx context.Context, q Query) ([]*intakev1.Dispute, *Cursor, error) {
	ds, next, err := s.list(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	if err := s.decorate(ctx, q.Region, ds); err != nil {
		return nil, nil, err
	}
	return ds, next, nil
}

// list scans the index in batches until the page is full or the index ends.
func (s *Store) list(ctx context.Context, q Query) ([]*intakev1.Dispute, *Cursor, error) {
	var stop any = "-inf"
	if !q.From.IsZero() {
		stop = q.From.UnixMilli()
	}
	// top is the highest score still to scan (inclusive); nil is +inf.
	// Each batch restarts at the last score seen, skipping the entries of
	// that score already seen, so registrations arriving meanwhile (newer,
	// higher scores) cannot shift the scan.
	var top *int64
	if !q.To.IsZero() {
		ms := q.To.UnixMilli() // inclusive; inRange below is exact
		top = &ms
	}
	var afterMember string
	if q.After != nil {
		afterMember = indexMember(q.After.ID)
		if top == nil || q.After.Score < *top {
			ms := q.After.Score
			top = &ms
		}
	}
	batch := max(q.Size, 50)
	index := IndexKey(q.Region)
	if q.Department != "" {
		index = DepartmentIndexKey(q.Region, q.Department)
	}
	var out []*intakev1.Dispute
	for offset := 0; ; {
		var start any = "+inf"
		if top != nil {
			start = *top
		}
		zs, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key: index, Start: start, Stop: stop, ByScore: true, Rev: true, Offset: int64(offset), Count: int64(batch),
		}).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("list %s: read index: %w", q.Region, err)
		}
		var cursors []Cursor
		var keys []string
		for _, z := range zs {
			member, _ := z.Member.(string)
			c := Cursor{Score: int64(z.Score), ID: idOfMember(member)}
			if q.After != nil && c.Score == q.After.Score && member >= afterMember {
				continue // at or before the cursor in newest-first order
			}
			cursors = append(cursors, c)
			keys = append(keys, DisputeKey(q.Region, c.ID))
		}
		if len(keys) > 0 {
			vals, err := s.rdb.MGet(ctx, keys...).Result()
			if err != nil {
				return nil, nil, fmt.Errorf("list %s: load disputes: %w", q.Region, err)
			}
			for i, v := range vals {
				raw, ok := v.(string)
				if !ok {
					continue // indexed but gone: nothing to show
				}
				d, err := decode(cursors[i].ID, []byte(raw))
				if err != nil {
					return nil, nil, err
				}
				if !inRange(d, q.From, q.To) || (q.Keep != nil && !q.Keep(d)) {
					continue
				}
				out = append(out, d)
				if len(out) == q.Size {
					var next *Cursor
					if i < len(vals)-1 || len(zs) == batch {
						c := cursors[i]
						next = &c
					}
					return out, next, nil
				}
			}
		}
		if len(zs) < batch {
			return out, nil, nil
		}
		last := int64(zs[len(zs)-1].Score)
		same := 0
		for _, z := range zs {
			if int64(z.Score) == last {
				same++
			}
		}
		if top != nil && *top == last {
			offset += same
		} else {
			top, offset = &last, same
		}
	}
}

func inRange(d *intakev1.Dispute, from, to time.Time) bool {
	t := d.GetRegisterTime().AsTime()
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

// indexMember is the by-time index member of dispute id "2026-17":
// "2026-000000017", so disputes registered in the same millisecond still
// sort by number.
func indexMember(id string) string {
	year, n, ok := strings.Cut(id, "-")
	if !ok {
		return id
	}
	return year + "-" + strings.Repeat("0", max(0, 9-len(n))) + n
}

func idOfMember(member string) string {
	year, n, ok := strings.Cut(member, "-")
	if !ok {
		return member
	}
	n = strings.TrimLeft(n, "0")
	return year + "-" + n
}
