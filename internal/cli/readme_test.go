package cli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tsingma/tsingma/internal/testenv"
)

// TestReadmeExamples runs the README's "Running the platform" examples
// (curl and mosquitto_pub, as written) against a real `tsingma serve` with
// access control on, with only the address, port and token filled in.
// curl gets -f so that an HTTP error fails the example.
func TestReadmeExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server and runs the README's commands")
	}
	for _, tool := range []string{"bash", "curl", "mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool+" (Debian packages curl, mosquitto-clients)")
		}
	}
	readme, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, setup := readmeCommands(t, string(readme))

	s, out := launch(t, []string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--log-level", "warn"})
	defer s.kill(t)
	token := ""
	for token == "" {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("no bootstrap token printed: %v", err)
		}
		if f := strings.TrimSpace(line); strings.HasPrefix(f, "tsm_") {
			token = f
		}
	}
	go out.WriteTo(devNull{})
	_, mqttPort, _ := net.SplitHostPort(s.mqtt)

	fill := func(c string) string {
		c = strings.ReplaceAll(c, "localhost:8080", s.http)
		c = strings.ReplaceAll(c, "-p 1883", "-h 127.0.0.1 -p "+mqttPort)
		c = regexp.MustCompile(`\bcurl -s(N?) `).ReplaceAllString(c, "curl -sSf$1 --max-time 10 ")
		return c
	}
	prefix := fill(regexp.MustCompile(`(?m)^TOKEN=\S+`).ReplaceAllString(setup, "TOKEN="+token)) + "\n"
	var outputs strings.Builder
	for _, c := range cmds {
		cmd, okCodes := fill(c), []int{0}
		switch {
		case strings.HasPrefix(c, "mosquitto_sub"):
			cmd, okCodes = cmd+" -W 1", []int{0, 27} // 27: timed out waiting, as expected
		case strings.Contains(c, "/api/v1/stream"):
			cmd, okCodes = strings.Replace(cmd, "--max-time 10", "--max-time 2", 1), []int{28} // a stream never ends by itself
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		var stdout, stderr bytes.Buffer
		sh := exec.CommandContext(ctx, "bash", "-c", prefix+cmd)
		sh.Stdout, sh.Stderr = &stdout, &stderr
		err := sh.Run()
		cancel()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		ok := false
		for _, k := range okCodes {
			ok = ok || k == code
		}
		if !ok {
			t.Errorf("README example failed (exit %d):\n%s\nstdout: %s\nstderr: %s", code, cmd, clip(stdout.String()), stderr.String())
		}
		outputs.WriteString(stdout.String())
	}
	// The examples' answers say what they should: the MQTT sample arrived
	// and PromQL counts the one gauge; 0.2 inches of rain are stored as
	// 5.08 mm; the rainfall channel's samples are deleted.
	all := outputs.String()
	for _, want := range []string{`"rainfall":{"ts":`, `"value":7.5`, `,"1"]`, `"value":5.08`, `"channel":"rainfall","deletedSeries":`} {
		if !strings.Contains(all, want) {
			t.Errorf("no %s in the examples' output:\n%s", want, clip(all))
		}
	}
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }

func clip(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "..."
	}
	return s
}

// readmeCommands returns the commands of the README's example block (the
// sh block of "Running the platform" that sets TOKEN), one per command with
// continuation lines joined, and the variable assignments they need.
func readmeCommands(t *testing.T, readme string) (cmds []string, setup string) {
	t.Helper()
	_, sec, ok := strings.Cut(readme, "## Running the platform")
	if !ok {
		t.Fatal(`README has no "## Running the platform" section`)
	}
	var block string
	for _, b := range strings.Split(sec, "```sh\n")[1:] {
		b, _, _ = strings.Cut(b, "```")
		if strings.Contains(b, "TOKEN=") {
			block = b
			break
		}
	}
	if block == "" {
		t.Fatal("README has no example block setting TOKEN")
	}
	var cur string
	for _, line := range strings.Split(block, "\n") {
		if i := strings.Index(line, "  # "); i >= 0 && !strings.Contains(line[:i], "'") {
			line = line[:i] // a trailing comment
		}
		line = strings.TrimRight(line, " ")
		if cur == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		cur += strings.TrimSpace(line)
		if regexp.MustCompile(`^[A-Z]+=`).MatchString(cur) {
			setup += cur + "\n"
		} else {
			cmds = append(cmds, cur)
		}
		cur = ""
	}
	if len(cmds) < 10 {
		t.Fatalf("only %d commands found in the README's example block", len(cmds))
	}
	return cmds, setup
}
