//go:build !linux

package main

import "syscall"

// childProcAttr: outside Linux there is no parent-death signal; custos dev
// stops its children when it exits normally.
func childProcAttr() *syscall.SysProcAttr { return nil }
