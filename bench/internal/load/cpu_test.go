package load

import (
	"testing"
	"time"
)

// TestProcessCPUCountsOwnWork spins until this process's CPU time, as read
// from /proc/self/stat, has grown, and checks an unknown pid is an error.
func TestProcessCPUCountsOwnWork(t *testing.T) {
	before, err := processCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for deadline := time.Now().Add(10 * time.Second); ; {
		for i := 0; i < 1_000_000; i++ {
			x += i
		}
		now, err := processCPU(0)
		if err != nil {
			t.Fatal(err)
		}
		if now-before >= 50*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time grew by %v in 10 s of spinning (%d)", now-before, x)
		}
	}
	if _, err := processCPU(1 << 30); err == nil {
		t.Error("no error for a pid that does not exist")
	}
	if got := cpuTimes([]Process{{Name: "gone", PID: 1 << 30}}); got[0] != -1 {
		t.Errorf("cpuTimes of a missing process = %v, want -1", got[0])
	}
}
