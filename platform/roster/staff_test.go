package roster

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// withStaff is sample() with two named staff in tax and one in hrss.
func withStaff() *rosterv1.Roster {
	r := sample()
	for _, u := range r.Units {
		switch u.Id {
		case "tax":
			u.Staff = []*rosterv1.StaffMember{
				{Id: "wang", DisplayName: "王小明", Roles: []string{"clerk", "handler"}},
				{Id: "zhou", DisplayName: "周丽萍", Roles: []string{"office"}},
			}
		case "hrss":
			u.Staff = []*rosterv1.StaffMember{{Id: "liu", DisplayName: "刘建平", Roles: []string{"handler"}}}
		}
	}
	return r
}

func unitOf(r *rosterv1.Roster, id string) *rosterv1.MemberUnit {
	u, _ := FindUnit(r, id)
	return u
}

func TestValidateStaff(t *testing.T) {
	tests := []struct {
		name      string
		change    func(r *rosterv1.Roster)
		wantField string
		wantIn    string
	}{
		{"same id in another unit", func(r *rosterv1.Roster) {
			unitOf(r, "justice").Staff = []*rosterv1.StaffMember{{Id: "wang", DisplayName: "王伟", Roles: []string{"handler"}}}
		}, "units[2].staff[0].id", "duplicate staff id \"wang\" (also units[1].staff[0])"},
		{"same id twice in one unit", func(r *rosterv1.Roster) {
			u := unitOf(r, "tax")
			u.Staff = append(u.Staff, &rosterv1.StaffMember{Id: "zhou", DisplayName: "周杰", Roles: []string{"clerk"}})
		}, "units[2].staff[2].id", "also units[2].staff[1]"},
		{"blank name", func(r *rosterv1.Roster) { unitOf(r, "tax").Staff[0].DisplayName = "  " }, "units[2].staff[0].display_name", "required"},
		{"empty name", func(r *rosterv1.Roster) { unitOf(r, "tax").Staff[0].DisplayName = "" }, "units[2].staff[0].display_name", ""},
		{"unknown role", func(r *rosterv1.Roster) { unitOf(r, "tax").Staff[1].Roles = []string{"office", "boss"} }, "units[2].staff[1].roles[1]", ""},
		{"no role", func(r *rosterv1.Roster) { unitOf(r, "hrss").Staff[0].Roles = nil }, "units[0].staff[0].roles", "at least one role"},
		{"bad id", func(r *rosterv1.Roster) { unitOf(r, "hrss").Staff[0].Id = "Liu Wei" }, "units[0].staff[0].id", ""},
	}
	if vs := Validate(withStaff()); len(vs) > 0 {
		t.Fatalf("valid roster with staff: %v", vs)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := withStaff()
			tt.change(r)
			vs := Validate(r)
			for _, v := range vs {
				if v.Field == tt.wantField && strings.Contains(v.Reason, tt.wantIn) {
					return
				}
			}
			t.Fatalf("no violation on %s containing %q; got %v", tt.wantField, tt.wantIn, vs)
		})
	}
}

func TestSeedRosterNamesStaff(t *testing.T) {
	r, err := LoadFile("../../deploy/roster/141181.json")
	if err != nil {
		t.Fatal(err)
	}
	// Every unit names its staff, and every staff id and role the make run
	// tokens and the end-to-end suite use is there with a Chinese name.
	for _, u := range r.GetUnits() {
		if len(u.GetStaff()) == 0 {
			t.Errorf("unit %s has no staff", u.GetId())
		}
	}
	for _, want := range []struct{ unit, id, role string }{
		{"tax", "wang", "clerk"}, {"tax", "wang", "handler"}, {"tax", "qian", "handler"}, {"tax", "li", "office"},
		{"tax", "zhou", "office"}, {"tax", "admin", "admin"}, {"hrss", "liu", "handler"}, {"finance", "zhao", "handler"},
		{"justice", "sun", "handler"}, {"plc", "hao", "platform"}, {"gov_office", "ren", "convenor"},
	} {
		u, p, ok := FindStaff(r, want.id)
		if !ok || u.GetId() != want.unit || !strings.Contains(strings.Join(p.GetRoles(), ","), want.role) || p.GetDisplayName() == "" {
			t.Errorf("staff %s/%s with role %s: found %v in %s as %v", want.unit, want.id, want.role, ok, u.GetId(), p)
		}
	}
	names := StaffNames(r)
	if names["wang"] != "王小明" {
		t.Errorf("StaffNames[wang] = %q", names["wang"])
	}
	if n, ok := JurisdictionName(r, "141181001"); !ok || n != "新义街道" {
		t.Errorf("JurisdictionName = %q, %v", n, ok)
	}
}

func TestStoreRecordsStaffChanges(t *testing.T) {
	cli := testenv.StartEtcd(t).Client(t)
	ctx := testCtx(t)
	if err := Put(ctx, cli, withStaff()); err != nil {
		t.Fatal(err)
	}
	cur, _, err := Load(ctx, cli, region)
	if err != nil {
		t.Fatal(err)
	}
	upd := proto.Clone(cur).(*rosterv1.Roster)
	tax := unitOf(upd, "tax")
	tax.Staff = tax.Staff[:1] // zhou leaves
	unitOf(upd, "justice").Staff = []*rosterv1.StaffMember{{Id: "sun", DisplayName: "孙志刚", Roles: []string{"handler"}}}
	change := &ChangeRecord{Actor: "141181/tax/admin", Reason: "人员调整"}
	if _, err := Store(ctx, cli, region, upd, []string{FieldUnits}, cur.GetEtag(), change); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"justice/sun"}, change.StaffAdded); diff != "" {
		t.Errorf("StaffAdded (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"tax/zhou"}, change.StaffRemoved); diff != "" {
		t.Errorf("StaffRemoved (-want +got):\n%s", diff)
	}

	// A duplicate id is refused and nothing changes.
	cur, _, _ = Load(ctx, cli, region)
	bad := proto.Clone(cur).(*rosterv1.Roster)
	unitOf(bad, "hrss").Staff = append(unitOf(bad, "hrss").Staff, &rosterv1.StaffMember{Id: "sun", DisplayName: "孙丽", Roles: []string{"clerk"}})
	_, err = Store(ctx, cli, region, bad, []string{FieldUnits}, cur.GetEtag(), &ChangeRecord{})
	if vs, ok := Violations(err); !ok || len(vs) == 0 || !strings.Contains(vs[0].Reason, "duplicate staff id") {
		t.Fatalf("Store with a duplicate staff id: %v", err)
	}
	after, _, _ := Load(ctx, cli, region)
	if after.GetEtag() != cur.GetEtag() {
		t.Error("a refused change was written")
	}
}

func TestWatcherStaffEditedInEtcd(t *testing.T) {
	env := startWatcher(t)
	ctx := testCtx(t)
	staffName := func(id string) string {
		r, _ := env.w.Get(region)
		return StaffNames(r)[id]
	}
	// What an administrator does with etcdctl put: a named person added.
	good, _ := protojson.Marshal(&rosterv1.MemberUnit{Id: "justice", Name: "市司法局", IntakePoint: true,
		Staff: []*rosterv1.StaffMember{{Id: "sun", DisplayName: "孙志刚", Roles: []string{"handler"}}}})
	if _, err := env.cli.Put(ctx, UnitKey(region, "justice"), string(good)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "new staff visible", func() bool { return staffName("sun") == "孙志刚" })

	// A blank name and an unknown role are refused; the last valid roster stays.
	for i, bad := range []string{
		`{"id": "justice", "name": "市司法局", "intakePoint": true, "staff": [{"id": "sun", "displayName": " ", "roles": ["handler"]}]}`,
		`{"id": "justice", "name": "市司法局", "intakePoint": true, "staff": [{"id": "sun", "displayName": "孙丽", "roles": ["boss"]}]}`,
	} {
		if _, err := env.cli.Put(ctx, UnitKey(region, "justice"), bad); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "rejection counted", func() bool {
			return env.metric(t, "roster_rejected_total", region) == float64(i+1)
		})
		if got := staffName("sun"); got != "孙志刚" {
			t.Fatalf("after a bad value the name is %q", got)
		}
	}
	if logs := env.logs.String(); !strings.Contains(logs, "/disputes/141181/roster/units/justice") {
		t.Errorf("log does not name the key:\n%s", logs)
	}
}
