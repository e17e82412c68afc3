package main

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// defineLine matches a "#define WG_NAME value" line of libwg.h; the value
// may be parenthesised and carry a u suffix.
var defineLine = regexp.MustCompile(`(?m)^#define\s+(WG_\w+)\s+\(?(-?\d+)u?\)?`)

// goConstants is what each #define WG_* of libwg.h must equal in Go.
var goConstants = map[string]int64{
	"WG_ERR_GENERAL":          errGeneral,
	"WG_ERR_INTERMITTENT":     errIntermittent,
	"WG_ERR_INVALID_ARGUMENT": errInvalidArgument,
	"WG_ERR_UNKNOWN_TUNNEL":   errUnknownTunnel,
	"WG_ERR_UNKNOWN_PEER":     errUnknownPeer,
	"WG_ERR_DAITA":            errDaita,
	"WG_ERR_BUFFER_TOO_SMALL": errBufferTooSmall,
	"WG_ERR_NOT_SUPPORTED":    errNotSupported,
	"WG_ERRNO_BASE":           errErrnoBase,
	"WG_LOG_ERROR":            logLevelError,
	"WG_LOG_VERBOSE":          logLevelVerbose,
	"WG_KIND_PACKETS":         kindPackets,
	"WG_KIND_DATAGRAMS":       kindDatagrams,
	"WG_DAITA_MAX_CAPACITY":   daitaMaxCapacity,
}

// headerDefines maps each #define WG_* in header text to its value.
func headerDefines(t *testing.T, header string) map[string]int64 {
	out := map[string]int64{}
	for _, m := range defineLine.FindAllStringSubmatch(header, -1) {
		v, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", m[1], err)
		}
		out[m[1]] = v
	}
	return out
}

func TestHeaderDefinesMatchGoConstants(t *testing.T) {
	header, err := os.ReadFile("libwg.h")
	if err != nil {
		t.Fatal(err)
	}
	defines := headerDefines(t, string(header))
	if len(defines) == 0 {
		t.Fatal("no #define WG_* found in libwg.h")
	}
	for name, v := range defines {
		goValue, ok := goConstants[name]
		switch {
		case !ok:
			t.Errorf("libwg.h defines %s = %d, which no Go constant in goConstants mirrors", name, v)
		case goValue != v:
			t.Errorf("%s: libwg.h says %d, Go says %d", name, v, goValue)
		}
	}
	for name := range goConstants {
		if _, ok := defines[name]; !ok {
			t.Errorf("%s has a Go constant but no #define in libwg.h", name)
		}
	}
}

func TestHeaderDefinesParsesEveryForm(t *testing.T) {
	got := headerDefines(t, "#define WG_A (-3) /* x */\n#define WG_B 2u\n#define WG_C 0\n#define LIBWG_H\n")
	want := map[string]int64{"WG_A": -3, "WG_B": 2, "WG_C": 0}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
