package main

import (
	"bytes"
	"encoding/hex"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestDaitaLimitsCheck(t *testing.T) {
	good := daitaLimits{maxPaddingFrac: 0.5, maxBlockingFrac: 0, eventsCapacity: 1, actionsCapacity: 1}
	if err := good.check(); err != nil {
		t.Fatalf("good limits refused: %v", err)
	}
	for name, tc := range map[string]struct {
		limits daitaLimits
		want   string
	}{
		"padding above 1":  {daitaLimits{1.5, 0, 1, 1}, "max_padding_frac"},
		"padding NaN":      {daitaLimits{math.NaN(), 0, 1, 1}, "max_padding_frac"},
		"blocking below 0": {daitaLimits{0, -0.1, 1, 1}, "max_blocking_frac"},
		"blocking +Inf":    {daitaLimits{0, math.Inf(1), 1, 1}, "max_blocking_frac"},
		"no events":        {daitaLimits{0, 0, 0, 1}, "events_capacity must be 1..65536, got 0"},
		"no actions":       {daitaLimits{0, 0, 1, 0}, "actions_capacity must be 1..65536, got 0"},
		"events 2^31-1":    {daitaLimits{0, 0, 1<<31 - 1, 1}, "events_capacity must be 1..65536, got 2147483647"},
		"actions 65537":    {daitaLimits{0, 0, 1, 65537}, "actions_capacity"},
	} {
		err := tc.limits.check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %s", name, err, tc.want)
		}
	}
}

func TestPeersASetRemoves(t *testing.T) {
	key := func(b byte) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
	private := testKey(7)
	public, _ := publicKey(private)
	for name, tc := range map[string]struct {
		settings string
		all      bool
		keys     []string
	}{
		"nothing":         {"listen_port=0\npublic_key=" + key(1) + "\nendpoint=127.0.0.1:1\n", false, nil},
		"a removal":       {"public_key=" + key(1) + "\nremove=true\npublic_key=" + key(2) + "\nallowed_ip=10.0.0.1/32\n", false, []string{key(1)}},
		"remove=false":    {"public_key=" + key(1) + "\nremove=false\n", false, nil},
		"replace_peers":   {"replace_peers=true\npublic_key=" + key(2) + "\n", true, nil},
		"a new key":       {"private_key=" + hex.EncodeToString(private) + "\n", false, []string{hex.EncodeToString(public)}},
		"a malformed key": {"public_key=zz\nremove=true\nprivate_key=00\n", false, nil},
		"remove, no peer": {"remove=true\n", false, nil},
		"two removals":    {"public_key=" + key(1) + "\nremove=true\npublic_key=" + key(3) + "\nremove=true\n", false, []string{key(1), key(3)}},
	} {
		all, keys := peersASetRemoves(tc.settings)
		var got []string
		for _, k := range keys {
			got = append(got, hex.EncodeToString(k[:]))
		}
		if all != tc.all || !slices.Equal(got, tc.keys) {
			t.Errorf("%s: got %v %v, want %v %v", name, all, got, tc.all, tc.keys)
		}
	}
}
