//go:build daita

package main

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"golang.zx2c4.com/wireguard/device"
)

// maybenot 1.x event numbers and distribution type codes.
const (
	evNonPaddingRecv = iota
	evPaddingRecv
	evNonPaddingSent
	evPaddingSent
	evBlockingBegin
	evBlockingEnd
	evLimitReached
	evUpdateMTU
	numEvents
)

const (
	distNone = iota
	distUniform
	distNormal
	distLogNormal
	distBinomial
	distGeometric
	distPareto
	distPoisson
)

type testDist struct {
	code                       uint16
	param1, param2, start, max float64
}

// testState's next maps event -> target -> probability; target len(states)
// is STATECANCEL, len(states)+1 STATEEND.
type testState struct {
	action, limit, timeout testDist
	block                  bool
	next                   map[int]map[int]float64
}

type testMachine struct {
	maxPaddingFrac float64
	states         []testState
}

// String is the machine in maybenot 1.x's format, built independently of
// maybenot: version 1 layout, zlib, hex.
func (m testMachine) String() string {
	var raw bytes.Buffer
	put := func(v any) { binary.Write(&raw, binary.LittleEndian, v) }
	put(uint16(1))
	put(uint64(0))
	put(m.maxPaddingFrac)
	put(uint64(0))
	put(float64(0))
	put(uint8(0))
	put(uint16(len(m.states)))
	for _, s := range m.states {
		for _, d := range []testDist{s.action, s.limit, s.timeout} {
			put(d)
		}
		block := uint8(0)
		if s.block {
			block = 1
		}
		put([4]uint8{block, 0, 0, 0})
		for e := 0; e < numEvents; e++ {
			for target := 0; target < len(m.states)+2; target++ {
				put(s.next[e][target])
			}
		}
	}
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(raw.Bytes())
	w.Close()
	return hex.EncodeToString(z.Bytes())
}

// goodMachine idles until a packet is sent, then pads to the MTU every
// millisecond five times, then idles again.
func goodMachine() testMachine {
	return testMachine{states: []testState{
		{limit: testDist{code: distUniform}, next: map[int]map[int]float64{evNonPaddingSent: {1: 1}}},
		{
			timeout: testDist{code: distUniform, param1: 1000, param2: 1000},
			limit:   testDist{code: distUniform, param1: 5, param2: 5},
			next:    map[int]map[int]float64{evPaddingSent: {1: 1}, evLimitReached: {0: 1}},
		},
	}}
}

// withPadState is goodMachine with its padding state changed by edit.
func withPadState(edit func(*testState)) string {
	m := goodMachine()
	edit(&m.states[1])
	return m.String()
}

func TestCheckMachinesAcceptsPaddingMachines(t *testing.T) {
	good := goodMachine().String()
	for _, text := range []string{good, good + "\n" + good, good + "\r\n" + good + "\n"} {
		if err := checkMachines(text, 1420); err != nil {
			t.Errorf("%q: %v", text, err)
		}
	}
	sized := withPadState(func(s *testState) { s.action = testDist{code: distUniform, param1: 100, param2: 1420} })
	if err := checkMachines(sized, 1420); err != nil {
		t.Error(err)
	}
}

func TestCheckMachinesRefusesWhatTheForkCannotRun(t *testing.T) {
	good := goodMachine().String()
	nanFrac := goodMachine()
	nanFrac.maxPaddingFrac = math.NaN()
	cases := []struct{ name, machines, want string }{
		{"empty", "", "no machines"},
		{"garbage", "garbage", "machine 0: is not hex"},
		{"hex, not zlib", "00ff00ff", "machine 0: is not zlib data"},
		{"not UTF-8", "\xff\xfe", "not UTF-8"},
		{"wrong version", versionTwo(), "is version 2"},
		{"second of two", good + "\n" + "00", "machine 1: is not zlib data"},
		{"too many", strings.Repeat(good+"\n", 17), "17 machines, more than the 16"},
		{"NaN fraction", nanFrac.String(), "has max_padding_frac NaN"},
		{"blocking", withPadState(func(s *testState) { s.block = true }), "state 1 blocks outgoing traffic"},
		{"cancel", withPadState(func(s *testState) { s.next[evNonPaddingRecv] = map[int]float64{2: 0.5} }),
			"state 1 moves to STATECANCEL on NonPaddingRecv"},
		{"end", withPadState(func(s *testState) { s.next[evLimitReached] = map[int]float64{3: 1} }),
			"state 1 moves to STATEEND on LimitReached"},
		{"tiny padding", withPadState(func(s *testState) { s.action = testDist{code: distUniform, param1: 1, param2: 3} }),
			"state 1 can pad 1 bytes"},
		{"unbounded padding", withPadState(func(s *testState) { s.action = testDist{code: distPoisson, param1: 500, start: 10} }),
			"pads an unbounded size"},
		{"huge padding", withPadState(func(s *testState) { s.action = testDist{code: distUniform, param1: 100, param2: 9000} }),
			"can pad 9000 bytes"},
		{"NaN parameter", withPadState(func(s *testState) { s.timeout.param1 = math.NaN() }),
			"the timeout distribution has param1 NaN"},
		{"binomial", withPadState(func(s *testState) { s.limit = testDist{code: distBinomial, param1: 10, param2: 0.5} }),
			"is Binomial"},
		{"spinning geometric", withPadState(func(s *testState) { s.timeout = testDist{code: distGeometric, param1: 1e-300} }),
			"is Geometric with probability 1e-300"},
		{"unknown dist", withPadState(func(s *testState) { s.limit.code = 11 }), "type code 11"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkMachines(c.machines, 1420)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// versionTwo is goodMachine with version 2 in its header.
func versionTwo() string {
	compressed, _ := hex.DecodeString(goodMachine().String())
	r, _ := zlib.NewReader(bytes.NewReader(compressed))
	var raw bytes.Buffer
	raw.ReadFrom(r)
	b := raw.Bytes()
	b[0] = 2
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(b)
	w.Close()
	return hex.EncodeToString(z.Bytes())
}

type description struct {
	OK       bool    `json:"ok"`
	Reason   *string `json:"reason"`
	MTU      *int    `json:"mtu"`
	Machines []struct {
		Index      int     `json:"index"`
		OK         bool    `json:"ok"`
		Reason     *string `json:"reason"`
		Name       string  `json:"name"`
		Serialized string  `json:"serialized"`
		States     []struct {
			Action struct {
				Kind  string          `json:"kind"`
				Sizes json.RawMessage `json:"sizes"`
			} `json:"action"`
			Timeout struct {
				Type   string  `json:"type"`
				Param1 float64 `json:"param1"`
			} `json:"timeout"`
			Transitions map[string]map[string]float64 `json:"transitions"`
		} `json:"states"`
	} `json:"machines"`
}

func describe(t *testing.T, machines string, mtu uint16) description {
	t.Helper()
	text, code := describeMachines(machines, mtu)
	if code != 0 {
		t.Fatalf("describeMachines: %d", code)
	}
	var d description
	if err := json.Unmarshal([]byte(text), &d); err != nil {
		t.Fatalf("%v in %s", err, text)
	}
	return d
}

func TestDescribeMachinesGivesCanonicalFormAndVerdicts(t *testing.T) {
	d := describe(t, goodMachine().String()+"\n"+withPadState(func(s *testState) { s.block = true }), 1420)
	if d.OK || d.Reason == nil || !strings.HasPrefix(*d.Reason, "machine 1 (") || d.MTU == nil || *d.MTU != 1420 {
		t.Fatalf("verdict: %+v", d)
	}
	good := d.Machines[0]
	if !good.OK || len(good.Name) != 32 || len(good.States) != 2 || d.Machines[1].OK {
		t.Fatalf("machines: %+v", d.Machines)
	}
	pad := good.States[1]
	if pad.Action.Kind != "padding" || string(pad.Action.Sizes) != `"mtu"` || pad.Timeout.Type != "Uniform" ||
		pad.Timeout.Param1 != 1000 || pad.Transitions["PaddingSent"]["1"] != 1 || pad.Transitions["LimitReached"]["0"] != 1 {
		t.Fatalf("padding state: %+v", pad)
	}
	if d.Machines[1].States[1].Action.Kind != "block" {
		t.Fatalf("blocking state: %+v", d.Machines[1].States[1])
	}
	// The canonical form describes the same machine, by the same name.
	again := describe(t, good.Serialized, 0)
	if !again.OK || again.MTU != nil || again.Machines[0].Name != good.Name || again.Machines[0].Serialized != good.Serialized {
		t.Fatalf("canonical form: %+v", again)
	}
}

// A refused machine never reaches the fork: enabling reports errDaita and
// the tunnel carries packets afterwards; a good one then enables DAITA.
func TestEnableDaitaRefusesUnsafeMachinesAndTunnelKeepsWorking(t *testing.T) {
	pair := newMemPair(t, "udp")
	pubB, _ := publicKey(testKey(2))
	var key device.NoisePublicKey
	copy(key[:], pubB)
	limits := daitaLimits{eventsCapacity: 64, actionsCapacity: 64}
	for _, bad := range []string{
		"", "zz", withPadState(func(s *testState) { s.block = true }),
		withPadState(func(s *testState) { s.next[evNonPaddingSent] = map[int]float64{2: 1} }),
	} {
		if code := enableDaita(pair.a, key, bad, limits); code != errDaita {
			t.Fatalf("%q: code %d, want %d", bad, code, errDaita)
		}
		if e, _ := takeLastError(); !strings.HasPrefix(e.message, "machine 0") && !strings.HasPrefix(e.message, "no machines") {
			t.Fatalf("%q: message %q", bad, e.message)
		}
	}
	exchange(t, pair, [][]byte{ipv4Packet([]byte("after refusals"))}, 1)
	if code := enableDaita(pair.a, key, goodMachine().String(), limits); code != 0 {
		e, _ := takeLastError()
		t.Fatalf("good machine: %d %s", code, e.message)
	}
	exchange(t, pair, [][]byte{ipv4Packet([]byte("with DAITA"))}, 1)
}
