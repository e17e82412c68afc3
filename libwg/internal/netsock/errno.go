package netsock

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// Error is a failed socket call as the errno a kernel socket would give,
// with the detail gVisor gave.
type Error struct {
	Errno syscall.Errno
	Text  string
}

func (e *Error) Error() string { return e.Text }

func errorf(errno syscall.Errno, text string) *Error { return &Error{errno, text} }

// gonet reports gVisor's errors by their text only; this table turns the
// ones a socket call can meet back into errnos.
var tcpipErrnos = map[string]syscall.Errno{}

func init() {
	for _, e := range []struct {
		err   tcpip.Error
		errno syscall.Errno
	}{
		{&tcpip.ErrConnectionRefused{}, syscall.ECONNREFUSED},
		{&tcpip.ErrConnectionReset{}, syscall.ECONNRESET},
		{&tcpip.ErrConnectionAborted{}, syscall.ECONNABORTED},
		{&tcpip.ErrAborted{}, syscall.ECONNABORTED},
		{&tcpip.ErrTimeout{}, syscall.ETIMEDOUT},
		{&tcpip.ErrNetworkUnreachable{}, syscall.ENETUNREACH},
		{&tcpip.ErrHostUnreachable{}, syscall.EHOSTUNREACH},
		{&tcpip.ErrHostDown{}, syscall.EHOSTDOWN},
		{&tcpip.ErrNoNet{}, syscall.ENONET},
		{&tcpip.ErrPortInUse{}, syscall.EADDRINUSE},
		{&tcpip.ErrNoPortAvailable{}, syscall.EAGAIN},
		{&tcpip.ErrBadLocalAddress{}, syscall.EADDRNOTAVAIL},
		{&tcpip.ErrAlreadyBound{}, syscall.EINVAL},
		{&tcpip.ErrAlreadyConnected{}, syscall.EISCONN},
		{&tcpip.ErrNotConnected{}, syscall.ENOTCONN},
		{&tcpip.ErrClosedForSend{}, syscall.EPIPE},
		{&tcpip.ErrClosedForReceive{}, syscall.ESHUTDOWN},
		{&tcpip.ErrMessageTooLong{}, syscall.EMSGSIZE},
		{&tcpip.ErrDestinationRequired{}, syscall.EDESTADDRREQ},
		{&tcpip.ErrNoBufferSpace{}, syscall.ENOBUFS},
		{&tcpip.ErrInvalidEndpointState{}, syscall.EINVAL},
		{&tcpip.ErrBroadcastDisabled{}, syscall.EACCES},
		{&tcpip.ErrNotPermitted{}, syscall.EPERM},
	} {
		tcpipErrnos[e.err.String()] = e.errno
	}
}

// toError is err as an errno; io.EOF is not an error and gives nil.
func toError(err error) *Error {
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var known *Error
	if errors.As(err, &known) {
		return known
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return errorf(syscall.ETIMEDOUT, "timed out")
	}
	if errors.Is(err, context.Canceled) {
		return errorf(syscall.ECONNABORTED, "cancelled: the socket was closed")
	}
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return errorf(syscall.ETIMEDOUT, "timed out")
	}
	text := err.Error()
	for message, errno := range tcpipErrnos {
		if strings.HasSuffix(text, message) {
			return errorf(errno, message)
		}
	}
	return errorf(syscall.EIO, text)
}

var errAgain = errorf(syscall.EAGAIN, "the call would wait")
