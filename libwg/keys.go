package main

import (
	"golang.org/x/crypto/curve25519"
)

const keyLen = 32

// publicKey derives the X25519 public key of a WireGuard private key.
func publicKey(private []byte) ([]byte, error) {
	return curve25519.X25519(private, curve25519.Basepoint)
}
