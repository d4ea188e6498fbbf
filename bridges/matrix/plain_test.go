//go:build !goolm

package matrix

import "testing"

// TestNeedsGoolm says why the Matrix bridge's tests did not run.
func TestNeedsGoolm(t *testing.T) {
	t.Skip("the Matrix bridge is built with -tags goolm: run make test, or go test -tags goolm ./bridges/matrix/...")
}
