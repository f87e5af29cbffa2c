package lockfile

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestASecondLockIsRefusedNamingTheHolderUntilTheFirstIsClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	first, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock(path)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second lock: got %v, want ErrLocked naming process %d", err, os.Getpid())
	}
	first.Close()
	again, err := Lock(path)
	if err != nil {
		t.Fatalf("lock after the first was closed: %v", err)
	}
	again.Close()
}
