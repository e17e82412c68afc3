package tunfd

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"wgcore/libwg/internal/tuntest"
)

// openTUN is a TUN device's fd.
func openTUN(t *testing.T, flags uint16) int {
	fd, _ := tuntest.Open(t, flags)
	return fd
}

func TestOpenAcceptsNoPITun(t *testing.T) {
	tuntest.InTestNetns(t, func() {
		dev, err := Open(openTUN(t, unix.IFF_TUN|unix.IFF_NO_PI), 1380)
		if err != nil {
			t.Errorf("Open: %v", err)
			return
		}
		defer dev.Close()
		if mtu, err := dev.MTU(); err != nil || mtu != 1380 {
			t.Errorf("MTU = %d, %v; want 1380", mtu, err)
		}
	})
}

func TestOpenRejectsWrongFds(t *testing.T) {
	tuntest.InTestNetns(t, func() {
		cases := map[string]struct {
			fd   int
			want string
		}{
			"with packet info": {openTUN(t, unix.IFF_TUN), "without IFF_NO_PI"},
			"tap":              {openTUN(t, unix.IFF_TAP|unix.IFF_NO_PI), "TAP"},
		}
		pipe := make([]int, 2)
		unix.Pipe(pipe)
		cases["pipe"] = struct {
			fd   int
			want string
		}{pipe[0], "not an attached TUN"}
		for name, c := range cases {
			_, err := Open(c.fd, 1420)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: err = %v, want it to mention %q", name, err, c.want)
			}
			unix.Close(c.fd)
		}
		unix.Close(pipe[1])
	})
}
