// Package tuntest gives tests kernel TUN devices, inside a test network
// namespace only.
package tuntest

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// InTestNetns runs fn if this process is inside a named network namespace
// (`ip netns exec NS go test`, as .ci/run does), so TUN devices never touch
// the host's namespace and sysfs describes the namespace.
func InTestNetns(t *testing.T, fn func()) {
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

// Open creates a TUN device named wgtest<n> with flags and returns its fd
// and name.
func Open(t *testing.T, flags uint16) (int, string) {
	t.Helper()
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open /dev/net/tun: %v", err)
	}
	ifr, _ := unix.NewIfreq("wgtest%d")
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		t.Fatalf("TUNSETIFF: %v", err)
	}
	return fd, ifr.Name()
}
