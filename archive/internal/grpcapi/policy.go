package grpcapi

import (
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

func method(name string) string {
	return "/" + archivev1.ArchiveService_ServiceDesc.ServiceName + "/" + name
}

var readers = []string{authn.RoleClerk, authn.RoleHandler, authn.RoleOffice, authn.RoleConvenor, authn.RolePlatform}

// Policy is the archive's per-RPC role table; which dossiers a caller sees
// is decided per call by the departments involved.
var Policy = authn.Policy{
	method("GetDossier"):        {AnyRole: readers},
	method("SearchDossiers"):    {AnyRole: readers},
	method("GetStatistics"):     {AnyRole: readers},
	method("GetInclusionProof"): {AnyRole: readers},
	// A log's checkpoints, tiles and consistency proofs hold hashes only
	// and are public, so anyone can audit it (docs/SECURITY.md).
	method("GetCheckpoint"):       {Public: true},
	method("ListCheckpoints"):     {Public: true},
	method("GetConsistencyProof"): {Public: true},
	method("GetLogTile"):          {Public: true},
	method("ExportDossier"):       {AnyRole: readers},
}
