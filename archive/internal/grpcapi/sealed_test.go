package grpcapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xiaoyi-disputes/disputes/archive/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/archive/sealproof"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// waitSealed polls as the office until the dossier is sealed.
func (f *fixture) waitSealed(t *testing.T, dispute string) *archivev1.Dossier {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := f.client.GetDossier(f.as(t, "office"), &archivev1.GetDossierRequest{Name: dispute})
		if err == nil && resp.GetDossier().GetSealed() {
			return resp.GetDossier()
		}
		if time.Now().After(deadline) {
			t.Fatalf("dossier %s not sealed in time: %v %v", dispute, resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verifyProof checks a dossier's proof against a signed checkpoint, both
// fetched over gRPC as who.
func (f *fixture) verifyProof(t *testing.T, who string, d *archivev1.Dossier) {
	t.Helper()
	cp, err := f.client.GetCheckpoint(f.as(t, who), &archivev1.GetCheckpointRequest{Parent: "regions/" + region})
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(sealproof.VerifierKey(sealproof.Origin(region), f.logPub))
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := sealproof.OpenCheckpoint([]byte(cp.GetNote()), v)
	if err != nil {
		t.Fatalf("checkpoint does not verify: %v: %q", err, cp.GetNote())
	}
	text := cp.GetNote()[:strings.Index(cp.GetNote(), "\n\n")+1]
	if int64(body.Size) != cp.GetTreeSize() || !bytes.Equal(body.Root, cp.GetRootHash()) || !ed25519.Verify(f.logPub, []byte(text), cp.GetSignature()) {
		t.Fatalf("checkpoint fields disagree with its note %q", cp.GetNote())
	}
	p, err := f.client.GetInclusionProof(f.as(t, who), &archivev1.GetInclusionProofRequest{Name: d.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := sealproof.EncodeLeaf(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.GetLeafHash(), rfc6962.DefaultHasher.HashLeaf(leaf)) {
		t.Fatalf("leaf hash is not the hash of the dossier served")
	}
	if p.GetLeafIndex() != d.GetLeafIndex() || p.GetTreeSize() != cp.GetTreeSize() {
		t.Fatalf("proof of leaf %d in %d; dossier leaf %d, checkpoint size %d", p.GetLeafIndex(), p.GetTreeSize(), d.GetLeafIndex(), cp.GetTreeSize())
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(p.GetLeafIndex()), uint64(p.GetTreeSize()),
		p.GetLeafHash(), p.GetHashes(), cp.GetRootHash()); err != nil {
		t.Fatalf("inclusion proof: %v", err)
	}
}

func TestSealedDossier(t *testing.T) {
	f := start(t)
	t0 := time.Now().Add(-time.Hour)
	// 1 closes and is sealed; 2 stays open.
	f.publish(t, "intake", registered(t, 1, "tax", typesv1.Category_CATEGORY_LATE_FEE, t0))
	f.publish(t, "routing", routed(event(t, "routing", name(1), &routingv1.DisputeRouted{Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER,
		TargetDepartment: "hrss", State: typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED}, t0.Add(time.Minute)),
		typesv1.DisputeState_DISPUTE_STATE_TRANSFERRED, 2, "tax", "hrss"))
	f.publish(t, "routing", routed(event(t, "routing", name(1), &routingv1.DisputeClosed{Cause: "withdrawn"}, t0.Add(2*time.Minute)),
		typesv1.DisputeState_DISPUTE_STATE_CLOSED, 3, "tax", "hrss"))
	f.publish(t, "intake", registered(t, 2, "tax", typesv1.Category_CATEGORY_BENEFITS, t0.Add(time.Second)))
	f.waitDossier(t, name(2), 1)

	sealed := f.waitSealed(t, name(1))
	if len(sealed.GetEvents()) != 3 || sealed.GetLeafIndex() != 0 || sealed.GetState() != typesv1.DisputeState_DISPUTE_STATE_CLOSED {
		t.Fatalf("sealed dossier = %v", sealed)
	}
	f.verifyProof(t, "hrss", sealed)

	// A late event for the sealed dossier changes nothing in it; it goes
	// into the dossier's addendum, shown with it.
	late := event(t, "meeting", name(1), &routingv1.ReplyRecorded{}, t0.Add(3*time.Minute))
	f.publish(t, "meeting", late)
	var after *archivev1.Dossier
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := f.client.GetDossier(f.as(t, "office"), &archivev1.GetDossierRequest{Name: name(1)})
		if err != nil {
			t.Fatal(err)
		}
		if after = resp.GetDossier(); len(after.GetAddendum()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("addendum = %v", ids(after.GetAddendum()))
		}
	}
	if after.GetAddendum()[0].GetId() != late.GetId() {
		t.Fatalf("addendum = %v, want the late event", ids(after.GetAddendum()))
	}
	after.Addendum = nil
	if diff := cmp.Diff(sealed, after, protocmp.Transform()); diff != "" {
		t.Fatalf("sealed dossier changed (-before +after):\n%s", diff)
	}
	_, redisEvs, err := f.st.Get(context.Background(), name(1))
	if err != nil || len(redisEvs) != 3 {
		t.Fatalf("Redis dossier has %d events, %v", len(redisEvs), err)
	}

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name   string
			call   func(ctx context.Context) error
			who    string
			code   codes.Code
			reason string
		}{
			{"proof of an open dossier", func(ctx context.Context) error {
				_, err := f.client.GetInclusionProof(ctx, &archivev1.GetInclusionProofRequest{Name: name(2)})
				return err
			}, "office", codes.FailedPrecondition, "DOSSIER_NOT_SEALED"},
			{"proof in a tree too large", func(ctx context.Context) error {
				_, err := f.client.GetInclusionProof(ctx, &archivev1.GetInclusionProofRequest{Name: name(1), TreeSize: 5})
				return err
			}, "office", codes.InvalidArgument, apierr.ReasonInvalidArgument},
			{"proof for a department that took no part", func(ctx context.Context) error {
				_, err := f.client.GetInclusionProof(ctx, &archivev1.GetInclusionProofRequest{Name: name(1)})
				return err
			}, "finance", codes.NotFound, "DOSSIER_NOT_FOUND"},
			{"export for a department that took no part", func(ctx context.Context) error {
				_, err := f.client.ExportDossier(ctx, &archivev1.ExportDossierRequest{Name: name(1)})
				return err
			}, "justice", codes.NotFound, "DOSSIER_NOT_FOUND"},
			{"checkpoint never issued", func(ctx context.Context) error {
				_, err := f.client.GetCheckpoint(ctx, &archivev1.GetCheckpointRequest{Parent: "regions/" + region, TreeSize: 7})
				return err
			}, "other_region", codes.NotFound, "CHECKPOINT_NOT_FOUND"},
			{"consistency past the latest checkpoint", func(ctx context.Context) error {
				_, err := f.client.GetConsistencyProof(ctx, &archivev1.GetConsistencyProofRequest{Parent: "regions/" + region, FromSize: 1, ToSize: 9})
				return err
			}, "office", codes.InvalidArgument, apierr.ReasonInvalidArgument},
			{"proof of a dossier that does not exist", func(ctx context.Context) error {
				_, err := f.client.GetInclusionProof(ctx, &archivev1.GetInclusionProofRequest{Name: name(99)})
				return err
			}, "office", codes.NotFound, "DOSSIER_NOT_FOUND"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.call(f.as(t, tt.who))
				if status.Code(err) != tt.code || apierr.Reason(err) != tt.reason {
					t.Fatalf("err = %v (reason %q), want %v %q", err, apierr.Reason(err), tt.code, tt.reason)
				}
			})
		}
	})

	t.Run("export", func(t *testing.T) {
		resp, err := f.client.ExportDossier(f.as(t, "tax"), &archivev1.ExportDossierRequest{Name: name(1)})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetMediaType() != grpcapi.ExportMediaType {
			t.Fatalf("media type %q", resp.GetMediaType())
		}
		vkey := sealproof.VerifierKey(sealproof.Origin(region), f.logPub)
		got, err := sealproof.Verify(resp.GetContent(), vkey)
		if err != nil {
			t.Fatalf("export does not verify: %v\n%s", err, resp.GetContent())
		}
		if got.Name != name(1) || got.LeafIndex != uint64(sealed.GetLeafIndex()) {
			t.Fatalf("verified %+v", got)
		}
		var doc sealproof.Bundle
		if err := json.Unmarshal(resp.GetContent(), &doc); err != nil {
			t.Fatal(err)
		}
		exported := &archivev1.Dossier{}
		if err := protojson.Unmarshal(doc.Dossier, exported); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sealed, exported, protocmp.Transform()); diff != "" {
			t.Fatalf("exported dossier (-want +got):\n%s", diff)
		}
		open, err := f.client.ExportDossier(f.as(t, "tax"), &archivev1.ExportDossierRequest{Name: name(2)})
		if err != nil {
			t.Fatal(err)
		}
		var openDoc sealproof.Bundle
		if err := json.Unmarshal(open.GetContent(), &openDoc); err != nil {
			t.Fatal(err)
		}
		if len(openDoc.Dossier) == 0 || openDoc.Checkpoint != nil || openDoc.InclusionProof != nil || openDoc.Leaf != nil {
			t.Fatalf("export of an open dossier = %s", open.GetContent())
		}
		if _, err := sealproof.Verify(open.GetContent(), vkey); err == nil || !strings.Contains(err.Error(), "not sealed") {
			t.Fatalf("verify an open dossier's export: %v", err)
		}
	})

	t.Run("after FLUSHALL", func(t *testing.T) {
		if err := f.redis.AdminClient(t).FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		resp, err := f.client.GetDossier(f.as(t, "hrss"), &archivev1.GetDossierRequest{Name: name(1)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sealed, resp.GetDossier(), protocmp.Transform()); diff != "" {
			t.Fatalf("dossier after flush (-want +got):\n%s", diff)
		}
		f.verifyProof(t, "tax", resp.GetDossier())
		if _, err := f.client.ExportDossier(f.as(t, "office"), &archivev1.ExportDossierRequest{Name: name(1)}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.client.GetDossier(f.as(t, "office"), &archivev1.GetDossierRequest{Name: name(2)}); status.Code(err) != codes.NotFound {
			t.Fatalf("open dossier after flush: %v", err)
		}

		// The name is used again (intake's numbering restarted with
		// Redis): a new registration event, a new dossier, its own leaf.
		again := registered(t, 1, "tax", typesv1.Category_CATEGORY_BENEFITS, time.Now())
		f.publish(t, "intake", again)
		f.publish(t, "routing", routed(event(t, "routing", name(1), &routingv1.DisputeClosed{Cause: "withdrawn"}, time.Now()),
			typesv1.DisputeState_DISPUTE_STATE_CLOSED, 2, "tax"))
		var reused *archivev1.Dossier
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			resp, err := f.client.GetDossier(f.as(t, "office"), &archivev1.GetDossierRequest{Name: name(1)})
			if err == nil && resp.GetDossier().GetSealed() && resp.GetDossier().GetLeafIndex() != sealed.GetLeafIndex() {
				reused = resp.GetDossier()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("reused name not sealed as a new leaf: %v %v", resp, err)
			}
		}
		if reused.GetEvents()[0].GetId() != again.GetId() {
			t.Fatalf("served dossier registered by %s, want %s", reused.GetEvents()[0].GetId(), again.GetId())
		}
		f.verifyProof(t, "tax", reused)
		// A store that points the name at the other dossier's leaf is refused.
		if err := f.st.MarkSealed(context.Background(), name(1), sealed.GetLeafIndex()); err != nil {
			t.Fatal(err)
		}
		_, err = f.client.GetDossier(f.as(t, "office"), &archivev1.GetDossierRequest{Name: name(1)})
		if status.Code(err) != codes.FailedPrecondition || apierr.Reason(err) != "SEALED_LEAF_MISMATCH" {
			t.Fatalf("dossier whose leaf is another's: %v (reason %q)", err, apierr.Reason(err))
		}
	})
}
