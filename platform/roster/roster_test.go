package roster

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

const region = "141181"

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sample is a small valid roster with units sorted by id, as Load returns them.
func sample() *rosterv1.Roster {
	return &rosterv1.Roster{
		Name:       Name(region),
		RegionName: "孝义市",
		Units: []*rosterv1.MemberUnit{
			{Id: "hrss", Name: "市人社局（医保局）", IntakePoint: true, DefaultCategories: []typesv1.Category{typesv1.Category_CATEGORY_BENEFITS}},
			{Id: "justice", Name: "市司法局", IntakePoint: true, Duties: []string{"提供法律咨询"}},
			{Id: "tax", Name: "市税务局", IntakePoint: true, Head: "王小军 市税务局局长"},
		},
		Leadership: &rosterv1.Leadership{
			Convenor:        &rosterv1.Person{Name: "任小俊", Title: "市政府副市长"},
			DeputyConvenors: []*rosterv1.Person{{Name: "王小军", Title: "市税务局局长", UnitId: "tax"}},
			OfficeHostUnit:  "tax",
			OfficeDirector:  &rosterv1.Person{Name: "王小军", UnitId: "tax"},
		},
		Jurisdictions: []*rosterv1.Jurisdiction{
			{Code: "141181001", Name: "新义街道", Kind: "街道"},
			{Code: "141181100", Name: "兑镇镇", Kind: "乡镇"},
		},
	}
}

func withoutEtag(r *rosterv1.Roster) *rosterv1.Roster {
	c := proto.Clone(r).(*rosterv1.Roster)
	c.Etag = ""
	return c
}

func TestSeedFileIsValid(t *testing.T) {
	r, err := LoadFile("../../deploy/roster/141181.json")
	if err != nil {
		t.Fatal(err)
	}
	if vs := Validate(r); len(vs) > 0 {
		t.Fatalf("seed roster invalid: %v", vs)
	}
	if got := OfficeHost(r); got != "tax" {
		t.Errorf("OfficeHost = %q, want tax", got)
	}
	for _, id := range []string{"tax", "hrss", "plc", "justice", "petition", "approval"} {
		if !IsIntakePoint(r, id) {
			t.Errorf("IsIntakePoint(%q) = false", id)
		}
	}
	if IsIntakePoint(r, "finance") || IsIntakePoint(r, "nobody") {
		t.Error("finance/nobody reported as intake points")
	}
	if !HasJurisdiction(r, "141181001") || HasJurisdiction(r, "999999999") {
		t.Error("HasJurisdiction wrong")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *rosterv1.Roster)
		want   []string // violation fields
	}{
		{"valid", func(*rosterv1.Roster) {}, nil},
		{"bad unit id", func(r *rosterv1.Roster) { r.Units[1].Id = "Bad Id" }, []string{"units[1].id"}},
		{"duplicate unit", func(r *rosterv1.Roster) { r.Units[2].Id = "hrss" }, []string{"units[2].id", "leadership.deputy_convenors[0].unit_id", "leadership.office_host_unit", "leadership.office_director.unit_id"}},
		{"no intake point", func(r *rosterv1.Roster) {
			for _, u := range r.Units {
				u.IntakePoint = false
			}
		}, []string{"units"}},
		{"no convenor", func(r *rosterv1.Roster) { r.Leadership.Convenor = nil }, []string{"leadership.convenor"}},
		{"convenor without name", func(r *rosterv1.Roster) { r.Leadership.Convenor.Name = "" }, []string{"leadership.convenor.name"}},
		{"no leadership", func(r *rosterv1.Roster) { r.Leadership = nil }, []string{"leadership"}},
		{"office host unknown", func(r *rosterv1.Roster) { r.Leadership.OfficeHostUnit = "nobody" }, []string{"leadership.office_host_unit"}},
		{"office host empty", func(r *rosterv1.Roster) { r.Leadership.OfficeHostUnit = "" }, []string{"leadership.office_host_unit"}},
		{"person unit unknown", func(r *rosterv1.Roster) { r.Leadership.DeputyConvenors[0].UnitId = "nobody" }, []string{"leadership.deputy_convenors[0].unit_id"}},
		{"duplicate jurisdiction", func(r *rosterv1.Roster) { r.Jurisdictions[1].Code = "141181001" }, []string{"jurisdictions[1].code"}},
		{"bad jurisdiction code", func(r *rosterv1.Roster) { r.Jurisdictions[0].Code = "x" }, []string{"jurisdictions[0].code"}},
		{"no region name", func(r *rosterv1.Roster) { r.RegionName = "" }, []string{"region_name"}},
		{"bad name", func(r *rosterv1.Roster) { r.Name = "regions/1/roster" }, []string{"name"}},
		{"unspecified category", func(r *rosterv1.Roster) {
			r.Units[0].DefaultCategories = []typesv1.Category{typesv1.Category_CATEGORY_UNSPECIFIED}
		}, []string{"units[0].default_categories[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sample()
			tt.change(r)
			var got []string
			for _, v := range Validate(r) {
				got = append(got, v.Field)
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("violation fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateStoredNamesKeys(t *testing.T) {
	r := sample()
	r.Units[2].Name = ""
	r.Leadership.OfficeHostUnit = "nobody"
	got := ValidateStored(region, r)
	want := []Violation{
		{Field: "/disputes/141181/roster/units/tax", Reason: "units[2].name: must be at least 1 characters"},
		{Field: "/disputes/141181/roster/leadership", Reason: `leadership.office_host_unit: unit "nobody" is not in units`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPutLoadRoundTrip(t *testing.T) {
	cli := testenv.StartEtcd(t).Client(t)
	ctx := testCtx(t)

	if _, _, err := Load(ctx, cli, region); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load of empty region: err = %v, want ErrNotFound", err)
	}
	want := sample()
	if err := Put(ctx, cli, want); err != nil {
		t.Fatal(err)
	}
	got, rev, err := Load(ctx, cli, region)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetEtag() != strconv.FormatInt(rev, 10) || rev <= 0 {
		t.Errorf("etag %q, rev %d", got.GetEtag(), rev)
	}
	if diff := cmp.Diff(want, withoutEtag(got), protocmp.Transform()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	// Put of a smaller roster removes the units and jurisdictions it dropped.
	smaller := sample()
	smaller.Units = smaller.Units[1:]
	smaller.Jurisdictions = smaller.Jurisdictions[:1]
	if err := Put(ctx, cli, smaller); err != nil {
		t.Fatal(err)
	}
	got, _, err = Load(ctx, cli, region)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(smaller, withoutEtag(got), protocmp.Transform()); diff != "" {
		t.Errorf("after smaller Put (-want +got):\n%s", diff)
	}

	bad := sample()
	bad.Leadership.OfficeHostUnit = "nobody"
	if err := Put(ctx, cli, bad); err == nil {
		t.Error("Put of an invalid roster succeeded")
	}
}

func TestLoadNamesBadKey(t *testing.T) {
	cli := testenv.StartEtcd(t).Client(t)
	ctx := testCtx(t)
	if err := Put(ctx, cli, sample()); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, UnitKey(region, "tax"), `{"id": "tax", "name": `); err != nil {
		t.Fatal(err)
	}
	_, _, err := Load(ctx, cli, region)
	vs, ok := Violations(err)
	if !ok || len(vs) != 1 || vs[0].Field != "/disputes/141181/roster/units/tax" {
		t.Fatalf("Load err = %v, violations %v; want one naming the tax unit key", err, vs)
	}
}

func TestInitIfEmpty(t *testing.T) {
	cli := testenv.StartEtcd(t).Client(t)
	ctx := testCtx(t)
	first := sample()
	seeded, err := InitIfEmpty(ctx, cli, first)
	if err != nil || !seeded {
		t.Fatalf("first InitIfEmpty = %v, %v; want true", seeded, err)
	}
	second := sample()
	second.RegionName = "别的市"
	seeded, err = InitIfEmpty(ctx, cli, second)
	if err != nil || seeded {
		t.Fatalf("second InitIfEmpty = %v, %v; want false", seeded, err)
	}
	got, _, err := Load(ctx, cli, region)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRegionName() != "孝义市" {
		t.Errorf("region name %q: second init overwrote the first", got.GetRegionName())
	}
}

func TestStore(t *testing.T) {
	cli := testenv.StartEtcd(t).Client(t)
	ctx := testCtx(t)
	if err := Put(ctx, cli, sample()); err != nil {
		t.Fatal(err)
	}
	cur, _, err := Load(ctx, cli, region)
	if err != nil {
		t.Fatal(err)
	}

	// Replace units only: add petition, remove justice. Other fields of the
	// request are ignored.
	upd := &rosterv1.Roster{
		RegionName: "ignored",
		Units: []*rosterv1.MemberUnit{
			{Id: "hrss", Name: "市人社局（医保局）", IntakePoint: true},
			{Id: "petition", Name: "市信访局", IntakePoint: true},
			{Id: "tax", Name: "市税务局", IntakePoint: true},
		},
	}
	change := &ChangeRecord{Actor: "141181/tax/wang", Reason: "信访局加入"}
	etag, err := Store(ctx, cli, region, upd, []string{FieldUnits}, cur.GetEtag(), change)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"petition"}, change.UnitsAdded); diff != "" {
		t.Errorf("UnitsAdded (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"justice"}, change.UnitsRemoved); diff != "" {
		t.Errorf("UnitsRemoved (-want +got):\n%s", diff)
	}
	got, _, err := LoadAt(ctx, cli, region, mustInt(t, etag))
	if err != nil {
		t.Fatal(err)
	}
	want := sample()
	want.Units = upd.Units
	want.Etag = etag
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("stored roster (-want +got):\n%s", diff)
	}

	changes, err := Changes(ctx, cli, region, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].NewEtag != etag || changes[0].OldEtag != cur.GetEtag() ||
		changes[0].Actor != "141181/tax/wang" || changes[0].Reason != "信访局加入" ||
		!slices.Equal(changes[0].Fields, []string{FieldUnits}) {
		t.Errorf("audit records = %+v", changes)
	}
	after, err := ChangesAfter(ctx, cli, region, "", 10)
	if err != nil || len(after) != 1 || after[0].ID != change.ID {
		t.Errorf("ChangesAfter(\"\") = %+v, %v", after, err)
	}
	if after, err := ChangesAfter(ctx, cli, region, change.ID, 10); err != nil || len(after) != 0 {
		t.Errorf("ChangesAfter(last) = %+v, %v", after, err)
	}

	t.Run("stale etag", func(t *testing.T) {
		_, err := Store(ctx, cli, region, sample(), nil, cur.GetEtag(), &ChangeRecord{})
		if !errors.Is(err, ErrStale) {
			t.Fatalf("Store with old etag: err = %v, want ErrStale", err)
		}
	})
	t.Run("etag from the future", func(t *testing.T) {
		_, err := Store(ctx, cli, region, sample(), nil, "99999999", &ChangeRecord{})
		if !errors.Is(err, ErrStale) {
			t.Fatalf("err = %v, want ErrStale", err)
		}
	})
	t.Run("invalid result", func(t *testing.T) {
		// Removing the office host unit breaks leadership.office_host_unit.
		upd := &rosterv1.Roster{Units: []*rosterv1.MemberUnit{{Id: "hrss", Name: "市人社局", IntakePoint: true}}}
		_, err := Store(ctx, cli, region, upd, []string{FieldUnits}, etag, &ChangeRecord{})
		vs, ok := Violations(err)
		if !ok || !hasField(vs, "leadership.office_host_unit") {
			t.Fatalf("err = %v; want a violation on leadership.office_host_unit", err)
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		_, err := Store(ctx, cli, region, sample(), []string{"etag"}, etag, &ChangeRecord{})
		vs, ok := Violations(err)
		if !ok || !hasField(vs, "update_mask") {
			t.Fatalf("err = %v; want a violation on update_mask", err)
		}
	})
	t.Run("delete makes etag stale", func(t *testing.T) {
		r, _, err := Load(ctx, cli, region)
		if err != nil {
			t.Fatal(err)
		}
		// Emptying the jurisdictions only deletes keys: no remaining roster
		// key is modified, so only the guard key makes the old etag stale.
		if _, err := Store(ctx, cli, region, &rosterv1.Roster{}, []string{FieldJurisdictions}, r.GetEtag(), &ChangeRecord{}); err != nil {
			t.Fatal(err)
		}
		if _, err := Store(ctx, cli, region, &rosterv1.Roster{RegionName: "孝义市"}, []string{FieldRegionName}, r.GetEtag(), &ChangeRecord{}); !errors.Is(err, ErrStale) {
			t.Fatalf("Store after a delete with the etag from before: err = %v, want ErrStale", err)
		}
	})
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStoreConcurrentOneWins(t *testing.T) {
	e := testenv.StartEtcd(t)
	ctx := testCtx(t)
	cli := e.Client(t)
	if err := Put(ctx, cli, sample()); err != nil {
		t.Fatal(err)
	}
	cur, _, err := Load(ctx, cli, region)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.Client(t)
			r := sample()
			r.RegionName = "孝义市" + strconv.Itoa(i)
			_, errs[i] = Store(ctx, c, region, r, []string{FieldRegionName}, cur.GetEtag(), &ChangeRecord{Actor: strconv.Itoa(i)})
		}()
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrStale):
			t.Errorf("store %d: %v, want nil or ErrStale", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d stores won with the same etag, want exactly 1", wins)
	}
	changes, err := Changes(ctx, cli, region, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 {
		t.Fatalf("%d audit records, want 1", len(changes))
	}
}
