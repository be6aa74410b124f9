package cli

import (
	"archive/tar"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/tsingma/tsingma/internal/backup"
)

// runBackup fetches a backup from a running server into a file: written
// beside it, read through as a tar stream (a cut response is an error,
// not a short backup), synced and renamed into place.
func runBackup(ctx context.Context, e *env, args []string) int {
	const prog = "tsingma backup"
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	url := fs.String("url", "", "base URL of the running platform, e.g. http://127.0.0.1:8080 (required)")
	token := fs.String("token", "", "an admin token of the default tenant; default $TSINGMA_TOKEN")
	out := fs.String("out", "", "the backup file to write (required; not overwritten)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: tsingma backup --url URL --out FILE [--token T]\n\nTakes a backup of a running platform (every tenant's data, its tokens and the\naudit log with its signing key: keep it as secret as the data directory).\nRestore it with tsingma restore.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if _, code, ok := parseArgs(fs, e, args, 0, "no arguments"); !ok {
		return code
	}
	if *token == "" {
		*token = e.getenv("TSINGMA_TOKEN")
	}
	if *url == "" || *out == "" {
		fmt.Fprintf(e.stderr, "%s: --url and --out are required\n", prog)
		return 2
	}
	if _, err := os.Stat(*out); err == nil {
		fmt.Fprintf(e.stderr, "%s: %s exists; not overwritten\n", prog, *out)
		return 1
	}
	files, bytes, err := fetchBackup(ctx, strings.TrimRight(*url, "/")+"/api/v1/admin/backup", *token, *out)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", prog, err)
		return 1
	}
	fmt.Fprintf(e.stdout, "backup %s: %d files, %d bytes\n", *out, files, bytes)
	return 0
}

func fetchBackup(ctx context.Context, url, token, out string) (files int, bytes int64, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, 0, fmt.Errorf("%s: %s %s", url, resp.Status, body)
	}
	tmp := out + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// The tar reader reads the stream to its end marker: a response cut
	// short (the server aborts it on a failure) fails here.
	tr := tar.NewReader(io.TeeReader(resp.Body, f))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return files, bytes, fmt.Errorf("the backup is incomplete: %w", err)
		}
		n, err := io.Copy(io.Discard, tr)
		if err != nil {
			return files, bytes, fmt.Errorf("the backup is incomplete: %w", err)
		}
		if h.Typeflag == tar.TypeReg {
			files++
			bytes += n
		}
	}
	if _, err = io.Copy(f, resp.Body); err != nil { // the padding after the end marker
		return files, bytes, err
	}
	if err = f.Sync(); err != nil {
		return files, bytes, err
	}
	if err = f.Close(); err != nil {
		return files, bytes, err
	}
	if err = os.Rename(tmp, out); err != nil {
		return files, bytes, err
	}
	return files, bytes, syncParent(out)
}

func syncParent(name string) error {
	d, err := os.Open(filepath.Dir(name))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// runRestore extracts a backup into an empty data directory.
func runRestore(_ context.Context, e *env, args []string) int {
	const prog = "tsingma restore"
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	data := fs.String("data", "", "the data directory to restore into: empty or not there yet (required)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: tsingma restore --data DIR FILE\n\nExtracts a backup (tsingma backup, or GET /api/v1/admin/backup) into an empty\ndata directory; then run tsingma serve --data DIR. FILE - reads standard input.\n\nflags:\n")
		fs.PrintDefaults()
	}
	pos, code, ok := parseArgs(fs, e, args, 1, "one backup file")
	if !ok {
		return code
	}
	if *data == "" {
		fmt.Fprintf(e.stderr, "%s: --data is required\n", prog)
		return 2
	}
	var r io.Reader = os.Stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", prog, err)
			return 1
		}
		defer f.Close()
		r = f
	}
	files, bytes, err := backup.Extract(r, *data)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", prog, err)
		return 1
	}
	fmt.Fprintf(e.stdout, "restored %d files, %d bytes into %s; start it with: tsingma serve --data %s\n", files, bytes, *data, *data)
	return 0
}
