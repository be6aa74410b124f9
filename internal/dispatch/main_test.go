package dispatch

import (
	"testing"

	"github.com/tsingma/tsingma/internal/testenv"
)

func TestMain(m *testing.M) { testenv.MainWithLeakCheck(m) }
