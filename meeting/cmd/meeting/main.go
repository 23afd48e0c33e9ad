// Command meeting serves the joint-meeting office (联席会议办公室) and the
// roster of member units.
package main

import (
	"github.com/xiaoyi-disputes/disputes/meeting/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/service"
	"github.com/xiaoyi-disputes/disputes/platform/app"
)

func main() {
	app.Main(app.Service{
		Name:      "meeting",
		GRPCAddr:  ":9103",
		AdminAddr: ":9203",
		Policy:    grpcapi.Policy,
		Setup:     service.Setup,
	})
}
