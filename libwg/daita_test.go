package main

import (
	"math"
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
