package twin

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

const crashChildEnv = "TWIN_TEST_CRASH_CHILD"

// crashChild is the re-executed test binary: it opens the registry at path
// and creates twins from 4 goroutines forever, printing each id after
// Create returned (the acknowledgement).
func crashChild(path string) {
	r, err := Open(Config{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("k%d-%06d", w, i)
				if _, err := r.Create(context.Background(), DefaultTenant, Twin{ID: id, Type: "vehicle", Geometry: point(114, 22)}); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintln(out, id)
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestKill9 kills a writing process with SIGKILL and checks that every
// twin whose Create had returned is in the file: writes are acknowledged
// only after their bbolt commit (fsync).
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "twins.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		acked = append(acked, sc.Text())
		if len(acked) == 300 {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() { // acknowledgements already written before the kill
		acked = append(acked, sc.Text())
	}
	_ = cmd.Wait()
	if len(acked) < 300 {
		t.Fatalf("child acknowledged only %d writes", len(acked))
	}
	r := openTest(t, Config{Path: path})
	for _, id := range acked {
		if _, err := r.Get(context.Background(), DefaultTenant, id); err != nil {
			t.Errorf("acknowledged twin %s lost after kill -9: %v", id, err)
		}
	}
	t.Logf("%d acknowledged writes survived kill -9; %d twins in the file", len(acked), r.Count(DefaultTenant))
}
