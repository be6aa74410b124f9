package backup

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestTarRoundTrip(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "x.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "log"), []byte("0123456789"), 0o644)
	var buf bytes.Buffer
	tw := NewTar(&buf)
	if err := Bolt(tw, "a/x.db", db); err != nil {
		t.Fatal(err)
	}
	if err := FilePrefix(tw, "a/b/log", filepath.Join(dir, "log"), 4); err != nil {
		t.Fatal(err)
	}
	if err := File(tw, "log", filepath.Join(dir, "log")); err != nil {
		t.Fatal(err)
	}
	if err := File(tw, "missing", filepath.Join(dir, "nope")); err != nil {
		t.Fatal(err) // skipped
	}
	if err := NewTar(io.Discard).File("short", 5, func(w io.Writer) error { _, err := w.Write([]byte("abc")); return err }); err == nil {
		t.Fatal("a file shorter than it said was added")
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "r")
	files, _, err := Extract(&buf, out)
	if err != nil {
		t.Fatal(err)
	}
	if files != 3 {
		t.Fatalf("%d files restored, want 3", files)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "a/b/log")); string(b) != "0123" {
		t.Fatalf("prefix: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "log")); string(b) != "0123456789" {
		t.Fatalf("file: %q", b)
	}
	db2, err := bolt.Open(filepath.Join(out, "a/x.db"), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	db2.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte("b")).Get([]byte("k")); string(v) != "v" {
			t.Fatalf("restored database: %q", v)
		}
		return nil
	})
	// Not into a directory with something in it.
	if _, _, err := Extract(bytes.NewReader(nil), out); err == nil {
		t.Fatal("extracted into a non-empty directory")
	}
}

func hostile(entries ...*tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func TestExtractRefusesHostileEntries(t *testing.T) {
	for name, h := range map[string]*tar.Header{
		"parent":   {Typeflag: tar.TypeReg, Name: "../evil", Size: 1},
		"inside":   {Typeflag: tar.TypeReg, Name: "a/../../evil", Size: 1},
		"absolute": {Typeflag: tar.TypeReg, Name: "/tmp/evil", Size: 1},
		"symlink":  {Typeflag: tar.TypeSymlink, Name: "link", Linkname: "/etc/passwd"},
		"hardlink": {Typeflag: tar.TypeLink, Name: "link", Linkname: "../x"},
		"device":   {Typeflag: tar.TypeChar, Name: "dev"},
	} {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			if _, _, err := Extract(bytes.NewReader(hostile(h)), filepath.Join(base, "r")); err == nil {
				t.Fatal("accepted")
			}
			if _, err := os.Stat(filepath.Join(base, "evil")); err == nil {
				t.Fatal("wrote outside the directory")
			}
		})
	}
	twice := hostile(&tar.Header{Typeflag: tar.TypeReg, Name: "f", Size: 1}, &tar.Header{Typeflag: tar.TypeReg, Name: "f", Size: 2})
	if _, _, err := Extract(bytes.NewReader(twice), filepath.Join(t.TempDir(), "r")); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("a file twice: %v", err)
	}
}

// FuzzExtract: any stream is extracted inside the directory or refused.
func FuzzExtract(f *testing.F) {
	f.Add(hostile(&tar.Header{Typeflag: tar.TypeReg, Name: "a/b", Size: 3}, &tar.Header{Typeflag: tar.TypeDir, Name: "c/"}))
	f.Add(hostile(&tar.Header{Typeflag: tar.TypeReg, Name: "../x", Size: 1}))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		out := filepath.Join(base, "r")
		extract(bytes.NewReader(data), out, false)
		ents, _ := os.ReadDir(base)
		for _, e := range ents {
			if e.Name() != "r" {
				t.Fatalf("wrote %s outside the directory", e.Name())
			}
		}
		filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() && !fi.Mode().IsRegular() {
				t.Fatalf("extracted %s, not a plain file", p)
			}
			return nil
		})
	})
}
