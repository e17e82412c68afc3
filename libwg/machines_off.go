//go:build !daita

package main

func describeMachines(string, uint16) (string, int32) {
	return "", fail(errDaita, "DAITA is not compiled into this libwg")
}
