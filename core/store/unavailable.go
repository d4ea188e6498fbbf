package store

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// Unavailable reports whether err says that the database could not be
// reached (connection refused or cut, the server shutting down or starting
// up), rather than anything about the data: the service's own outage,
// which it reports once and recovers from, not the caller's mistake.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if pe := pq.As(err); pe != nil {
		return pe.Code.Class() == pqerror.ClassConnectionException ||
			pq.As(err, pqerror.AdminShutdown, pqerror.CrashShutdown, pqerror.CannotConnectNow) != nil
	}
	var ne *net.OpError
	return errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
