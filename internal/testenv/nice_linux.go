package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ThreadNice returns the nice value of the calling goroutine's current
// thread (at the moment of the call).
func ThreadNice() (int, error) {
	return taskNice(strconv.Itoa(syscall.Gettid()))
}

// ThreadNices returns the nice value of each of the process's threads, by
// thread id.
func ThreadNices() (map[string]int, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(ents))
	for _, e := range ents {
		n, err := taskNice(e.Name())
		if err != nil {
			continue // ended meanwhile
		}
		out[e.Name()] = n
	}
	return out, nil
}

// taskNice reads field 19 (nice) of /proc/self/task/TID/stat.
func taskNice(tid string) (int, error) {
	b, err := os.ReadFile("/proc/self/task/" + tid + "/stat")
	if err != nil {
		return 0, err
	}
	// The fields after the command name (which may hold spaces and
	// parentheses) start with the state, field 3.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 19-2 {
		return 0, fmt.Errorf("testenv: short stat line for thread %s", tid)
	}
	return strconv.Atoi(f[19-3])
}
