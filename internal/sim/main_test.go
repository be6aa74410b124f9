package sim

import (
	"testing"

	"github.com/tsingma/tsingma/internal/testenv"
)

// TestMain fails the package if a goroutine started by a test outlives it.
func TestMain(m *testing.M) { testenv.MainWithLeakCheck(m, "paho.mqtt.golang") }
