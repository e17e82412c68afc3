package tunfd

import (
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/offloads"
	"wgcore/libwg/internal/tuntest"
	"wgcore/libwg/internal/vnet"
)

// openTUN is a TUN device's fd.
func openTUN(t *testing.T, flags uint16) int {
	fd, _ := tuntest.Open(t, flags)
	return fd
}

func TestOpenAcceptsNoPITun(t *testing.T) {
	tuntest.InTestNetns(t, func() {
		dev, path, err := Open(openTUN(t, unix.IFF_TUN|unix.IFF_NO_PI), 1380)
		if err != nil || path != "plain" {
			t.Errorf("Open: %q, %v", path, err)
			return
		}
		defer dev.Close()
		if mtu, err := dev.MTU(); err != nil || mtu != 1380 {
			t.Errorf("MTU = %d, %v; want 1380", mtu, err)
		}
	})
}

func TestOpenGivesVnetHdrFdsTheOffloads(t *testing.T) {
	tuntest.InTestNetns(t, func() {
		for refuse, want := range map[string]string{"": "csum+tso4+tso6", "1": "no offload"} {
			t.Setenv(offloads.RefuseVar, refuse)
			dev, path, err := Open(openTUN(t, unix.IFF_TUN|unix.IFF_NO_PI|unix.IFF_VNET_HDR), 1380)
			if err != nil {
				t.Errorf("Open: %v", err)
				continue
			}
			if !strings.Contains(path, want) {
				t.Errorf("%s=%q: path %q, want it to say %q", offloads.RefuseVar, refuse, path, want)
			}
			dev.Close()
		}
	})
}

// The kernel's TCP talks to itself through the device: a reflector
// swaps the addresses of every packet it reads and writes it back (a
// swap keeps every checksum), so 198.51.100.1 reaches 198.51.100.2 and
// the answer comes back. With offloads the kernel hands over TSO
// super-packets and gets coalesced ones; the bytes arrive intact.
func TestTCPThroughTheKernelWithOffloads(t *testing.T) {
	tuntest.InTestNetns(t, func() {
		for _, refuse := range []string{"", "1"} {
			t.Setenv(offloads.RefuseVar, refuse)
			fd, name := tuntest.Open(t, unix.IFF_TUN|unix.IFF_NO_PI|unix.IFF_VNET_HDR)
			dev, _, err := Open(fd, 1380)
			if err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"addr", "add", "198.51.100.1/24", "dev", name}, {"link", "set", name, "up"}} {
				if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
					t.Fatalf("ip %v: %v %s", args, err, out)
				}
			}
			go reflect(dev)
			sent, got := transfer(t, 8<<20)
			dev.Close()
			if sent != got {
				t.Fatalf("refuse=%q: sha256 %x sent, %x received", refuse, sent, got)
			}
			split, coalesced := dev.(*vnet.Device).Counts()
			if refuse == "" && (split == 0 || coalesced == 0) {
				t.Errorf("offloads on, yet %d segments came from super-packets and %d went coalesced", split, coalesced)
			}
			if refuse == "1" && split+coalesced != 0 {
				t.Errorf("offloads refused, yet %d segments split and %d coalesced", split, coalesced)
			}
		}
	})
}

func reflect(dev tun.Device) {
	buf := make([]byte, 1<<16)
	for {
		n, err := dev.Read(buf, 16)
		if err != nil {
			return
		}
		p := buf[16 : 16+n]
		switch p[0] >> 4 {
		case 4:
			var a [4]byte
			copy(a[:], p[12:16])
			copy(p[12:16], p[16:20])
			copy(p[16:20], a[:])
		default:
			continue
		}
		dev.Write(buf[:16+n], 16)
	}
}

// transfer sends size random bytes from 198.51.100.1 to a listener
// reached as 198.51.100.2 and returns the sha256 sent and received.
func transfer(t *testing.T, size int) (sent, got [32]byte) {
	ln, err := net.Listen("tcp4", "198.51.100.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	done := make(chan [32]byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- [32]byte{}
			return
		}
		defer c.Close()
		h := sha256.New()
		io.Copy(h, c)
		done <- [32]byte(h.Sum(nil))
	}()
	c, err := net.DialTimeout("tcp4", net.JoinHostPort("198.51.100.2", strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	rand.Read(data)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case got = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the transfer did not finish")
	}
	return sha256.Sum256(data), got
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
			_, _, err := Open(c.fd, 1420)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: err = %v, want it to mention %q", name, err, c.want)
			}
			unix.Close(c.fd)
		}
		unix.Close(pipe[1])
	})
}
