package main

import (
	"encoding/hex"
	"testing"
)

// RFC 7748 section 6.1: Alice's key pair.
func TestPublicKeyRFC7748(t *testing.T) {
	priv, _ := hex.DecodeString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	pub, err := publicKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(pub); got != "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a" {
		t.Fatalf("public key %s", got)
	}
}
