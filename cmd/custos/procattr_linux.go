package main

import "syscall"

// childProcAttr makes a development child process receive SIGTERM when
// custos dev dies, even by SIGKILL, so no guardian outlives it.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
