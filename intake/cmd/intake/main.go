// Command intake serves disputes.intake.v1.IntakeService: registration
// (受理登记) and numbering of social insurance fee disputes.
package main

import (
	"github.com/xiaoyi-disputes/disputes/intake/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/intake/internal/service"
	"github.com/xiaoyi-disputes/disputes/platform/app"
)

func main() {
	app.Main(app.Service{
		Name: "intake", GRPCAddr: ":9101", AdminAddr: ":9201",
		Policy: grpcapi.Policy, Setup: service.Setup,
	})
}
