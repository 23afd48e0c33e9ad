package grpcapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// TestNoExistenceOracle asks for one dossier before it exists and after
// another department's dispute filled it: a department that took no part
// gets the same answer, byte for byte. Another region is refused from the
// name alone.
func TestNoExistenceOracle(t *testing.T) {
	f := start(t)
	n := name(7)
	calls := map[string]func(ctx context.Context) error{
		"GetDossier": func(ctx context.Context) error {
			_, err := f.client.GetDossier(ctx, &archivev1.GetDossierRequest{Name: n})
			return err
		},
		"GetInclusionProof": func(ctx context.Context) error {
			_, err := f.client.GetInclusionProof(ctx, &archivev1.GetInclusionProofRequest{Name: n})
			return err
		},
		"ExportDossier": func(ctx context.Context) error {
			_, err := f.client.ExportDossier(ctx, &archivev1.ExportDossierRequest{Name: n})
			return err
		},
	}
	missing := map[string]*status.Status{}
	for rpc, call := range calls {
		missing[rpc] = status.Convert(call(f.as(t, "finance")))
	}
	f.publish(t, "intake", registered(t, 7, "tax", typesv1.Category_CATEGORY_LATE_FEE, time.Now()))
	f.waitDossier(t, n, 1)
	for rpc, call := range calls {
		t.Run(rpc, func(t *testing.T) {
			err := call(f.as(t, "finance"))
			if status.Code(err) != codes.NotFound || apierr.Reason(err) != "DOSSIER_NOT_FOUND" {
				t.Fatalf("err = %v (reason %q), want NOT_FOUND DOSSIER_NOT_FOUND", err, apierr.Reason(err))
			}
			if d := cmp.Diff(missing[rpc].Proto(), status.Convert(err).Proto(), protocmp.Transform()); d != "" {
				t.Errorf("exists in another department vs does not exist (-missing +exists):\n%s", d)
			}
			if msg := status.Convert(err).Message(); !strings.Contains(msg, n) || strings.Contains(msg, "tax") {
				t.Errorf("message %q: want the requested name and nothing of the dossier", msg)
			}
			if err := call(f.as(t, "other_region")); status.Code(err) != codes.PermissionDenied {
				t.Errorf("another region: %v, want PERMISSION_DENIED", err)
			}
		})
	}
}
