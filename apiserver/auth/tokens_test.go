package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestEnsureAdminTokenCreatesAPrivateRandomTokenAndReusesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin-token")
	tok, err := EnsureAdminToken(path)
	if err != nil {
		t.Fatalf("EnsureAdminToken: %v", err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		t.Errorf("got token %q (%d bytes, err %v), want 32 random bytes base64url-encoded", tok, len(raw), err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("got mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := EnsureAdminToken(path)
	if err != nil {
		t.Fatalf("EnsureAdminToken again: %v", err)
	}
	if again != tok {
		t.Errorf("got %q on the second call, want the same token %q", again, tok)
	}
	other, _ := EnsureAdminToken(filepath.Join(t.TempDir(), "admin-token"))
	if other == tok {
		t.Error("two data dirs got the same token")
	}
}

func TestLoadTokenFileReadsKubernetesStaticTokenFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.csv")
	content := `# token,user,uid,groups
abc,alice,u-1,"navarch:view,team-a"
def,bob,u-2
,ignored,u-3
ghi, carol ,u-4,ops
`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadTokenFile(path)
	if err != nil {
		t.Fatalf("LoadTokenFile: %v", err)
	}
	want := []TokenEntry{
		{Token: "abc", User: User{Name: "alice", UID: "u-1", Groups: []string{"navarch:view", "team-a"}}},
		{Token: "def", User: User{Name: "bob", UID: "u-2"}},
		{Token: "ghi", User: User{Name: "carol ", UID: "u-4", Groups: []string{"ops"}}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestLoadTokenFileRefusesLinesWithoutAUID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(path, []byte("abc,alice,u-1\ndef,bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTokenFile(path); !errors.Is(err, ErrTokenFile) {
		t.Fatalf("got error %v, want ErrTokenFile", err)
	}
}

func TestAMissingTokenFileHasNoTokens(t *testing.T) {
	got, err := LoadTokenFile(filepath.Join(t.TempDir(), "absent.csv"))
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want no entries and no error", got, err)
	}
}

func TestNewNodeTokenAppendsANodeIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(path, []byte("abc,alice,u-1,navarch:view"), 0o600); err != nil { // no final newline
		t.Fatal(err)
	}
	tok, err := NewNodeToken(path, "worker-1")
	if err != nil {
		t.Fatalf("NewNodeToken: %v", err)
	}
	entries, err := LoadTokenFile(path)
	if err != nil {
		t.Fatalf("LoadTokenFile: %v", err)
	}
	if len(entries) != 2 || entries[0].User.Name != "alice" {
		t.Fatalf("got entries %v, want alice kept and one appended", entries)
	}
	e := entries[1]
	if e.Token != tok || e.User.Name != "system:node:worker-1" || !slices.Equal(e.User.Groups, []string{NodesGroup}) {
		t.Errorf("got entry %+v, want token %q for system:node:worker-1 in %s", e, tok, NodesGroup)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("got mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestConcurrentNodeTokensAreAllKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.csv")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := NewNodeToken(path, fmt.Sprintf("n%d", i)); err != nil {
				t.Errorf("NewNodeToken: %v", err)
			}
		}()
	}
	wg.Wait()
	entries, err := LoadTokenFile(path)
	if err != nil {
		t.Fatalf("LoadTokenFile: %v", err)
	}
	if len(entries) != 8 {
		t.Errorf("got %d entries, want 8", len(entries))
	}
}

func TestAuthenticatorTakesBearerTokens(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte("viewtoken,alice,u-1,navarch:view\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthenticator(AuthenticatorOptions{AdminToken: "admintoken", TokenFile: tokens})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	tests := []struct {
		name, header string
		wantUser     string
		wantGroups   []string
	}{
		{"the admin token", "Bearer admintoken", AdminUser, []string{MastersGroup, AuthenticatedGroup}},
		{"a token from the file", "Bearer viewtoken", "alice", []string{ViewGroup, AuthenticatedGroup}},
		{"a lower-case scheme", "bearer admintoken", AdminUser, []string{MastersGroup, AuthenticatedGroup}},
		{"no header", "", "", nil},
		{"another scheme", "Basic YWRtaW46eA==", "", nil},
		{"an unknown token", "Bearer nope", "", nil},
		{"a prefix of a token", "Bearer admintoke", "", nil},
		{"an empty token", "Bearer ", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "https://127.0.0.1/api", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			u, ok := a.AuthenticateRequest(r)
			if ok != (tt.wantUser != "") || u.Name != tt.wantUser || !slices.Equal(u.Groups, tt.wantGroups) {
				t.Errorf("got %+v, %v; want user %q groups %v", u, ok, tt.wantUser, tt.wantGroups)
			}
		})
	}
}

func TestAuthenticatorSeesTokensAddedAndRemovedWhileRunning(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens.csv")
	a, err := NewAuthenticator(AuthenticatorOptions{AdminToken: "admintoken", TokenFile: tokens, RecheckInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	tok, err := NewNodeToken(tokens, "late")
	if err != nil {
		t.Fatalf("NewNodeToken: %v", err)
	}
	u, ok := a.AuthenticateToken(tok)
	if !ok || u.Name != "system:node:late" {
		t.Fatalf("got %+v, %v for a token appended after start; want system:node:late", u, ok)
	}
	if err := os.WriteFile(tokens, []byte("# emptied\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, ok := a.AuthenticateToken(tok); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a token removed from the file still authenticates after 2s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAuthenticatorKeepsTheLastGoodTokensWhenTheFileBreaks(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(tokens, []byte("good,alice,u-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthenticator(AuthenticatorOptions{TokenFile: tokens, RecheckInterval: time.Nanosecond})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	if err := os.WriteFile(tokens, []byte("good,alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.AuthenticateToken("good"); !ok {
		t.Error("a malformed edit locked out a token that was valid before it")
	}
}

func TestNewAuthenticatorValidatesItsOptions(t *testing.T) {
	if _, err := NewAuthenticator(AuthenticatorOptions{}); err == nil {
		t.Error("got no error without any token source, want one")
	}
	bad := filepath.Join(t.TempDir(), "tokens.csv")
	os.WriteFile(bad, []byte("x\n"), 0o600)
	if _, err := NewAuthenticator(AuthenticatorOptions{TokenFile: bad}); !errors.Is(err, ErrTokenFile) {
		t.Errorf("got %v for a malformed token file, want ErrTokenFile", err)
	}
}
