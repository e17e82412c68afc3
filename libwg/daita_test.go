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
		"no events":        {daitaLimits{0, 0, 0, 1}, "capacity"},
		"no actions":       {daitaLimits{0, 0, 1, 0}, "capacity"},
	} {
		err := tc.limits.check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %s", name, err, tc.want)
		}
	}
}
