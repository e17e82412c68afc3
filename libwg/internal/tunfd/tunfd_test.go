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
// swap keeps every checksum), so 198.51.100.1 reaches 198.51.100.2 (and
// fd00:5119::1 fd00:5119::2) and the answer comes back. With offloads
// the kernel hands over TSO super-packets and gets coalesced ones; the
// bytes arrive intact, over IPv4 and IPv6.
func TestTCPThroughTheKernelWithOffloads(t *testing.T) {
	tuntest.InTestNetns(t, func() {
		for _, refuse := range []string{"", "1"} {
			t.Setenv(offloads.RefuseVar, refuse)
			fd, name := tuntest.Open(t, unix.IFF_TUN|unix.IFF_NO_PI|unix.IFF_VNET_HDR)
			// an opener may have chosen the 12-byte header; libwg sets its own
			if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, 12); err != nil {
				t.Fatal(err)
			}
			dev, _, err := Open(fd, 1380)
			if err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"addr", "add", "198.51.100.1/24", "dev", name},
				{"addr", "add", "fd00:5119::1/64", "dev", name, "nodad"}, {"link", "set", name, "up"}} {
				if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
					t.Fatalf("ip %v: %v %s", args, err, out)
				}
			}
			go reflect(dev)
			for _, ends := range [][2]string{{"198.51.100.1", "198.51.100.2"}, {"fd00:5119::1", "fd00:5119::2"}} {
				before, _ := dev.(*vnet.Device).Counts()
				sent, got := transfer(t, ends, 8<<20)
				if sent != got {
					t.Fatalf("refuse=%q, %s: sha256 %x sent, %x received", refuse, ends[0], sent, got)
				}
				if split, _ := dev.(*vnet.Device).Counts(); refuse == "" && split == before {
					t.Errorf("%s: offloads on, yet no segment came from a super-packet", ends[0])
				}
			}
			dev.Close()
			split, coalesced := dev.(*vnet.Device).Counts()
			if refuse == "" && coalesced == 0 {
				t.Errorf("offloads on, yet no segment went coalesced")
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
		src, dst := p[12:16], p[16:20]
		if p[0]>>4 == 6 {
			src, dst = p[8:24], p[24:40]
		}
		var a [16]byte
		copy(a[:], src)
		copy(src, dst)
		copy(dst, a[:len(src)])
		dev.Write(buf[:16+n], 16)
	}
}

// transfer sends size random bytes from ends[0] to a listener there
// reached as ends[1] and returns the sha256 sent and received.
func transfer(t *testing.T, ends [2]string, size int) (sent, got [32]byte) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ends[0], "0"))
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
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ends[0])}}
	c, err := d.Dial("tcp", net.JoinHostPort(ends[1], strconv.Itoa(port)))
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
