package store

import (
	"errors"
	"os"
	"syscall"
)

// datasync is fdatasync(2): the data and what is needed to read it back
// (the size), without the timestamps. Writing over a zero-filled segment
// then needs no journal commit, so the WAL's sync does not wait for other
// files' dirty data that the commit would carry (ext4, data=ordered).
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if !errors.Is(serr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}
