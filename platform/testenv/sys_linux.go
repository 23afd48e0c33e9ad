package testenv

import "syscall"

// sysProcAttr makes the kernel kill the server if the test binary dies
// (a panic or -timeout) before its cleanup runs, so no orphans keep ports.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
