package dispute

import (
	"time"

	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// Shanghai is China Standard Time, where the numbering year is counted.
var Shanghai = names.China

// Year returns the numbering year of a registration at t.
func Year(t time.Time) int { return names.Year(t) }

// Name returns the resource name of dispute id in region; names.DisputeID
// parses it.
func Name(region, id string) string { return names.Dispute(region, id) }
