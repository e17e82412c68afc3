package netsock

import "golang.org/x/sys/unix"

// flag is an eventfd readable exactly while a condition holds, so a host
// can wait for it with poll or select; its owner's lock guards it.
type flag struct {
	fd  int
	set bool
}

func newFlag() (*flag, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &flag{fd: fd}, nil
}

// update makes the fd readable when on, drained when not.
func (f *flag) update(on bool) {
	if f.fd < 0 || on == f.set {
		return
	}
	var buf [8]byte
	if on {
		buf[0] = 1
		_, _ = unix.Write(f.fd, buf[:])
	} else {
		_, _ = unix.Read(f.fd, buf[:])
	}
	f.set = on
}

// close leaves the fd readable, waking whoever polls it, and closes it.
func (f *flag) close() {
	if f.fd < 0 {
		return
	}
	f.update(true)
	_ = unix.Close(f.fd)
	f.fd = -1
}
