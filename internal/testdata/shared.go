// Package testdata locates ../shared, the data beside the repository that
// tests read but never copy.
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedDir returns the absolute path of ../shared (relative to the repository
// root). When it is absent the test is skipped, unless TANDEM_REQUIRE_SHARED=1,
// in which case it fails: CI must never silently skip these tests.
func SharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("TANDEM_SHARED"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testdata: repository root (go.mod) not found")
		}
		dir = parent
	}
	shared := filepath.Join(filepath.Dir(dir), "shared")
	if st, err := os.Stat(shared); err != nil || !st.IsDir() {
		if os.Getenv("TANDEM_REQUIRE_SHARED") == "1" {
			t.Fatalf("shared data directory %s is missing and TANDEM_REQUIRE_SHARED=1", shared)
		}
		t.Skipf("skipping: shared data directory %s is absent (set TANDEM_REQUIRE_SHARED=1 to make this a failure)", shared)
	}
	return shared
}

// SharedFile returns the path of a file under ../shared, skipping or failing
// like SharedDir when it is missing.
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(SharedDir(t), rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("TANDEM_REQUIRE_SHARED") == "1" {
			t.Fatalf("shared file %s is missing and TANDEM_REQUIRE_SHARED=1", p)
		}
		t.Skipf("skipping: shared file %s is absent", p)
	}
	return p
}
