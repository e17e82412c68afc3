package tunfd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inTestNetns runs fn if this process is inside a named network namespace
// (`ip netns exec NS go test`, as .ci/run does), so TUN devices never touch
// the host's namespace and sysfs describes the namespace.
func inTestNetns(t *testing.T, fn func()) {
	t.Helper()
	if !inNamedNetns() {
		t.Skip("TUN tests run only inside a test network namespace: `ip netns exec NS go test`, as .ci/run does")
	}
	fn()
}

func inNamedNetns() bool {
	self, err := os.Stat("/proc/self/ns/net")
	if err != nil {
		return false
	}
	named, _ := filepath.Glob("/run/netns/*")
	for _, path := range named {
		if info, err := os.Stat(path); err == nil && os.SameFile(self, info) {
			return true
		}
	}
	return false
}

func openTUN(t *testing.T, flags uint16) int {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open /dev/net/tun: %v", err)
	}
	ifr, _ := unix.NewIfreq("wgtest%d")
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		t.Fatalf("TUNSETIFF: %v", err)
	}
	return fd
}

func TestOpenAcceptsNoPITun(t *testing.T) {
	inTestNetns(t, func() {
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
	inTestNetns(t, func() {
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
