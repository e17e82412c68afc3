//go:build daita

package main

// checkMachines refuses machines the fork cannot run safely.
// TODO(machines): parse with maybenot itself (subprojects/maybenot).
func checkMachines(machines string, mtu int) error { return nil }
