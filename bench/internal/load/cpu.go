package load

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Process is a process whose CPU time a Run measures over its window.
type Process struct {
	Name string
	PID  int // 0: this process
}

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on
// Linux).
const clockTick = 10 * time.Millisecond

// processCPU returns the user and system CPU time process pid has used,
// with that of the children it has waited for: Redis's AOF rewrites run in
// a forked child, and their work is Redis's.
func processCPU(pid int) (time.Duration, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start with field 3.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return 0, fmt.Errorf("%s: %d fields", path, len(f))
	}
	var ticks int64
	for _, v := range f[11:15] { // utime, stime, cutime, cstime: fields 14 to 17
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// cpuTimes reads the CPU time of each process; a process that cannot be
// read gets -1.
func cpuTimes(ps []Process) []time.Duration {
	out := make([]time.Duration, len(ps))
	for i, p := range ps {
		d, err := processCPU(p.PID)
		if err != nil {
			d = -1
		}
		out[i] = d
	}
	return out
}

// CPUTimes reads the CPU time each process has used so far; a process that
// cannot be read gets -1.
func CPUTimes(ps []Process) []time.Duration { return cpuTimes(ps) }
