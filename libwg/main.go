// Package main is libwg: wireguard-go behind a plain C ABI (see libwg.h).
package main

import "C"

func main() {}
