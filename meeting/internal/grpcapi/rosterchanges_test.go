package grpcapi

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

func TestListRosterChangesPagesNewestFirst(t *testing.T) {
	f := start(t)
	reasons := []string{"更正地区名称一", "更正地区名称二", "更正地区名称三"}
	for i, reason := range reasons {
		cur := f.get(t)
		_, err := f.roster.UpdateRoster(f.as(t, region, "tax", authn.RoleAdmin), &rosterv1.UpdateRosterRequest{
			Roster:     &rosterv1.Roster{Name: cur.GetName(), RegionName: []string{"孝义市一", "孝义市二", "孝义市"}[i], Etag: cur.GetEtag()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"region_name"}},
			Reason:     reason,
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	var got []*rosterv1.RosterChange
	token, pages := "", 0
	for {
		resp, err := f.roster.ListRosterChanges(f.as(t, region, "office", authn.RoleOffice), &rosterv1.ListRosterChangesRequest{
			Parent: roster.Name(region), PageSize: 2, PageToken: token,
		})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, resp.GetChanges()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pages never end")
		}
	}
	if pages != 2 || len(got) != 3 {
		t.Fatalf("%d changes in %d pages, want 3 in 2", len(got), pages)
	}
	for i, c := range got {
		want := reasons[len(reasons)-1-i]
		if c.GetReason() != want || c.GetActorDepartment() != "tax" || c.GetActorStaff() != "wang" ||
			c.GetActorDisplayName() != "王小明" || len(c.GetFields()) != 1 || c.GetFields()[0] != "region_name" ||
			c.GetChangeTime() == nil || c.GetNewEtag() == "" {
			t.Errorf("change %d = %v, want reason %q by 王小明 of tax on region_name", i, c, want)
		}
	}

	for _, tt := range []struct {
		name string
		dept string
		reg  string
		role string
		tok  string
		want codes.Code
	}{
		{"a clerk", "tax", region, authn.RoleClerk, "", codes.PermissionDenied},
		{"an admin of another region", "tax", "140100", authn.RoleAdmin, "", codes.PermissionDenied},
		{"a forged page token", "tax", region, authn.RoleAdmin, "bm90LWEtdG9rZW4", codes.InvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.roster.ListRosterChanges(f.as(t, tt.reg, tt.dept, tt.role), &rosterv1.ListRosterChangesRequest{
				Parent: roster.Name(region), PageToken: tt.tok,
			})
			if status.Code(err) != tt.want {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}
