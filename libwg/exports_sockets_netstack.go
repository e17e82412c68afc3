package main

/*
#include <stddef.h>
#include <stdint.h>
#include "log_sink.h"
*/
import "C"

import (
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"wgcore/libwg/internal/handles"
	"wgcore/libwg/internal/netsock"
)

// errErrnoBase - errno is the code of a socket call failing with errno
// (libwg.h WG_ERR_ERRNO).
const errErrnoBase = -1000

var sockets handles.Table[*netsock.Socket]

// sockFail is the code of a failed socket call; EAGAIN, the common case
// of a non-blocking call, records no message.
func sockFail(e *netsock.Error) C.int32_t {
	code := int32(errErrnoBase) - int32(e.Errno)
	if e.Errno == syscall.EAGAIN {
		return C.int32_t(code)
	}
	return C.int32_t(fail(code, "%s", e.Text))
}

func lookupSocket(sock C.int32_t) (*netsock.Socket, C.int32_t) {
	s, ok := sockets.Get(int32(sock))
	if !ok {
		return nil, C.int32_t(fail(errErrnoBase-int32(syscall.EBADF), "unknown socket handle %d (never opened, or closed)", int32(sock)))
	}
	return s, 0
}

func insertSocket(s *netsock.Socket) C.int32_t {
	handle, ok := sockets.Insert(s)
	if !ok {
		s.Close()
		return C.int32_t(fail(errGeneral, "no free socket handle"))
	}
	return C.int32_t(handle)
}

func parseSockAddr(addr *C.char) (netip.AddrPort, C.int32_t) {
	if addr == nil {
		return netip.AddrPort{}, C.int32_t(fail(errInvalidArgument, "address must not be NULL"))
	}
	text := C.GoString(addr)
	a, err := netip.ParseAddrPort(text)
	if err != nil || a.Addr().Zone() != "" {
		return a, C.int32_t(fail(errInvalidArgument, "address %q is not IP:port or [IPv6]:port", text))
	}
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()), 0
}

func cBytes(buf *C.uint8_t, n C.size_t) []byte {
	if buf == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
}

// putAddr writes addr as NUL-terminated text into out.
func putAddr(addr netip.AddrPort, out *C.char, outLen C.size_t) C.int32_t {
	text := addr.String()
	if out == nil || int(outLen) < len(text)+1 {
		return C.int32_t(fail(errBufferTooSmall, "the address needs %d bytes", len(text)+1))
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(out)), int(outLen))
	dst[copy(dst, text)] = 0
	return 0
}

//export wgSockOpen
func wgSockOpen(handle C.int32_t, v6 C.int32_t, stream C.int32_t) C.int32_t {
	t, code := lookupTunnel(int32(handle))
	if code != 0 {
		return C.int32_t(code)
	}
	m, ok := t.mode.(*netstackMode)
	if !ok {
		return C.int32_t(fail(errNotSupported, "tunnel %d has no userspace network stack: turn it on in mode \"netstack\"", int32(handle)))
	}
	s, e := netsock.New(m.stack, v6 != 0, stream != 0)
	if e != nil {
		return sockFail(e)
	}
	return insertSocket(s)
}

//export wgSockClose
func wgSockClose(sock C.int32_t) C.int32_t {
	s, ok := sockets.Remove(int32(sock))
	if !ok {
		return C.int32_t(fail(errErrnoBase-int32(syscall.EBADF), "unknown socket handle %d (never opened, or closed)", int32(sock)))
	}
	s.Close()
	return 0
}

//export wgSockCount
func wgSockCount() C.int32_t { return C.int32_t(sockets.Len()) }

//export wgSockReadyFd
func wgSockReadyFd(sock C.int32_t, writable C.int32_t) C.int32_t {
	s, code := lookupSocket(sock)
	if code != 0 {
		return code
	}
	return C.int32_t(s.ReadyFD(writable != 0))
}

// sockCall runs op on the socket of handle sock: 0, or op's error code.
func sockCall(sock C.int32_t, op func(*netsock.Socket) *netsock.Error) C.int32_t {
	s, code := lookupSocket(sock)
	if code != 0 {
		return code
	}
	if e := op(s); e != nil {
		return sockFail(e)
	}
	return 0
}

//export wgSockBind
func wgSockBind(sock C.int32_t, addr *C.char) C.int32_t {
	a, code := parseSockAddr(addr)
	if code != 0 {
		return code
	}
	return sockCall(sock, func(s *netsock.Socket) *netsock.Error { return s.Bind(a) })
}

//export wgSockListen
func wgSockListen(sock C.int32_t, backlog C.int32_t) C.int32_t {
	return sockCall(sock, func(s *netsock.Socket) *netsock.Error { return s.Listen(int(backlog)) })
}

//export wgSockConnect
func wgSockConnect(sock C.int32_t, addr *C.char, timeoutMs C.int32_t) C.int32_t {
	a, code := parseSockAddr(addr)
	if code != 0 {
		return code
	}
	timeout := time.Duration(timeoutMs) * time.Millisecond
	return sockCall(sock, func(s *netsock.Socket) *netsock.Error { return s.Connect(a, timeout) })
}

//export wgSockError
func wgSockError(sock C.int32_t) C.int32_t {
	return sockCall(sock, (*netsock.Socket).Err)
}

//export wgSockAccept
func wgSockAccept(sock C.int32_t) C.int32_t {
	s, code := lookupSocket(sock)
	if code != 0 {
		return code
	}
	conn, e := s.Accept()
	if e != nil {
		return sockFail(e)
	}
	return insertSocket(conn)
}

// moveBytes runs a socket's Read or Write on the caller's buffer (at
// most 1 GiB, so the count fits the int32 result).
func moveBytes(sock C.int32_t, buf *C.uint8_t, n C.size_t, op func(*netsock.Socket, []byte) (int, *netsock.Error)) C.int32_t {
	s, code := lookupSocket(sock)
	if code != 0 {
		return code
	}
	done, e := op(s, cBytes(buf, min(n, 1<<30)))
	if e != nil {
		return sockFail(e)
	}
	return C.int32_t(done)
}

//export wgSockRead
func wgSockRead(sock C.int32_t, buf *C.uint8_t, n C.size_t) C.int32_t {
	return moveBytes(sock, buf, n, (*netsock.Socket).Read)
}

//export wgSockWrite
func wgSockWrite(sock C.int32_t, buf *C.uint8_t, n C.size_t) C.int32_t {
	return moveBytes(sock, buf, n, (*netsock.Socket).Write)
}

//export wgSockSendTo
func wgSockSendTo(sock C.int32_t, buf *C.uint8_t, n C.size_t, addr *C.char) C.int32_t {
	s, code := lookupSocket(sock)
	if code != 0 {
		return code
	}
	var a netip.AddrPort
	if addr != nil {
		if a, code = parseSockAddr(addr); code != 0 {
			return code
		}
	}
	put, e := s.SendTo(cBytes(buf, min(n, 1<<30)), a)
	if e != nil {
		return sockFail(e)
	}
	return C.int32_t(put)
}

//export wgSockRecvFrom
func wgSockRecvFrom(sock C.int32_t, buf *C.uint8_t, n C.size_t, addrOut *C.char, addrLen C.size_t) C.int32_t {
	s, code := lookupSocket(sock)
	if code != 0 {
		return code
	}
	got, from, e := s.RecvFrom(cBytes(buf, min(n, 1<<30)))
	if e != nil {
		return sockFail(e)
	}
	if code := putAddr(from, addrOut, addrLen); code != 0 {
		return code
	}
	return C.int32_t(got)
}

//export wgSockShutdown
func wgSockShutdown(sock C.int32_t, how C.int32_t) C.int32_t {
	if how < 0 || how > 2 {
		return C.int32_t(fail(errInvalidArgument, "how %d is not SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2)", int32(how)))
	}
	return sockCall(sock, func(s *netsock.Socket) *netsock.Error { return s.Shutdown(how != 1, how != 0) })
}

//export wgSockAddress
func wgSockAddress(sock C.int32_t, remote C.int32_t, out *C.char, outLen C.size_t) C.int32_t {
	s, code := lookupSocket(sock)
	if code != 0 {
		return code
	}
	addr := s.LocalAddr()
	if remote != 0 {
		var e *netsock.Error
		if addr, e = s.RemoteAddr(); e != nil {
			return sockFail(e)
		}
	}
	return putAddr(addr, out, outLen)
}
