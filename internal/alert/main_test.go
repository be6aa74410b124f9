package alert

import (
	"testing"

	"github.com/tsingma/tsingma/internal/testenv"
)

// TestMain fails the package if a goroutine started by a test outlives it.
func TestMain(m *testing.M) { testenv.MainWithStrictLeakCheck(m) }
