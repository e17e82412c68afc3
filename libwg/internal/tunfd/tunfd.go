// Package tunfd turns the fd of a Linux TUN device the host opened into a
// tun.Device, refusing fds that are not IFF_TUN|IFF_NO_PI. An fd opened
// with IFF_VNET_HDR too gets the kernel's offloads (package vnet).
package tunfd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"

	"wgcore/libwg/internal/offloads"
	"wgcore/libwg/internal/vnet"
)

// Open wraps fd, which must be a Linux TUN device opened with
// IFF_TUN|IFF_NO_PI (packets without the packet-information header), and
// sets the interface's MTU (unless the interface lives in another network
// namespace than the calling thread). On success the device owns fd.
// path says how packets cross: "plain" (one packet a system call) or the
// offloads of an IFF_VNET_HDR fd.
func Open(fd int, mtu int) (dev tun.Device, path string, err error) {
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return nil, "", err
	}
	if err := unix.IoctlIfreq(fd, unix.TUNGETIFF, ifr); err != nil {
		return nil, "", fmt.Errorf("fd %d is not an attached TUN device (TUNGETIFF: %v)", fd, err)
	}
	flags := ifr.Uint16()
	if flags&unix.IFF_TUN == 0 {
		return nil, "", fmt.Errorf("fd %d is a TAP device; libwg needs IFF_TUN", fd)
	}
	if flags&unix.IFF_NO_PI == 0 || !sysfsSaysNoPI(ifr.Name()) {
		return nil, "", fmt.Errorf("TUN fd %d was opened without IFF_NO_PI; libwg needs IFF_TUN|IFF_NO_PI", fd)
	}
	if err := setInterfaceMTU(ifr.Name(), mtu); err != nil && !errors.Is(err, unix.ENODEV) {
		return nil, "", err
	}
	dev, _, err = tun.CreateUnmonitoredTUNFromFD(fd)
	if err != nil || flags&unix.IFF_VNET_HDR == 0 {
		return dev, "plain", err
	}
	v := vnet.New(dev, dev.File(), offloads.Refused())
	return v, v.Offloads(), nil
}

// sysfsSaysNoPI reads the interface's tun_flags from sysfs, because some
// kernels report IFF_NO_PI through TUNGETIFF whatever the fd was opened
// with. It returns true when sysfs describes another network namespace
// (the name's ifindex differs) and so cannot tell.
func sysfsSaysNoPI(name string) bool {
	dir := "/sys/class/net/" + name + "/"
	index, err1 := os.ReadFile(dir + "ifindex")
	flags, err2 := os.ReadFile(dir + "tun_flags")
	iface, err3 := net.InterfaceByName(name)
	if err1 != nil || err2 != nil || err3 != nil || strings.TrimSpace(string(index)) != strconv.Itoa(iface.Index) {
		return true
	}
	value, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(string(flags)), "0x"), 16, 32)
	return err != nil || value&unix.IFF_NO_PI != 0
}

func setInterfaceMTU(name string, mtu int) error {
	sock, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sock)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	ifr.SetUint32(uint32(mtu))
	if err := unix.IoctlIfreq(sock, unix.SIOCSIFMTU, ifr); err != nil {
		return fmt.Errorf("setting MTU %d on %s: %w", mtu, name, err)
	}
	return nil
}

// CloseUnused closes an fd handed to libwg that it could not use:
// ownership of the fd moves to libwg whatever the outcome.
func CloseUnused(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}
