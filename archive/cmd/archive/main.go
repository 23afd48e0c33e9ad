// Command archive serves archive.v1.ArchiveService: the dossier of every
// dispute, filed from the events of intake, routing and meeting, and the
// sealed log of closed dossiers. Its settings are described in
// archive/internal/service.
package main

import (
	"github.com/xiaoyi-disputes/disputes/archive/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/archive/internal/service"
	"github.com/xiaoyi-disputes/disputes/platform/app"
)

func main() {
	app.Main(app.Service{Name: "archive", GRPCAddr: ":9104", AdminAddr: ":9204", Policy: grpcapi.Policy, Setup: service.Setup})
}
