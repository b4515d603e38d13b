package spill

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOpenDirModes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "spill")
	d, err := OpenDir(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	checkMode(t, path, 0o700)
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checkMode(t, d.file(f.name), 0o600)
	if _, err := OpenDir(path, Options{}); err == nil {
		t.Fatal("a second OpenDir of a directory in use succeeded")
	}
}

func TestOpenDirRefusesShared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if d, err := OpenDir(path, Options{}); err == nil {
		d.Close()
		t.Fatal("OpenDir accepted a directory others can read")
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{PartSize: 1 << 20}).Validate(); err == nil {
		t.Fatal("a part size below the S3 minimum passed")
	}
	if err := (Options{FillConcurrency: -1}).Validate(); err == nil {
		t.Fatal("a negative concurrency passed")
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatal(err)
	}
}
