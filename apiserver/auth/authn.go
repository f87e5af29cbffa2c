package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// AuthenticatorOptions configures an Authenticator.
type AuthenticatorOptions struct {
	// AdminToken authenticates as AdminUser in MastersGroup.
	AdminToken string
	// TokenFile is a tokens file (see LoadTokenFile), re-read when it
	// changes. Empty means none; a missing file has no tokens until it is
	// created.
	TokenFile string
	// RecheckInterval bounds how often a request that authenticated looks
	// whether the tokens file changed (a token removed from it stops working
	// within this time). A token not found always triggers the check, so a
	// token just added works at once. Defaults to one second.
	RecheckInterval time.Duration
	// Logger reports a tokens file that cannot be read; defaults to
	// slog.Default().
	Logger *slog.Logger
}

// Validate reports options that cannot work.
func (o AuthenticatorOptions) Validate() error {
	if o.AdminToken == "" && o.TokenFile == "" {
		return errors.New("authenticator: neither an admin token nor a token file")
	}
	if o.RecheckInterval < 0 {
		return errors.New("authenticator: negative recheck interval")
	}
	return nil
}

// Authenticator maps bearer tokens to users. It is safe for concurrent use.
type Authenticator struct {
	opts   AuthenticatorOptions
	static map[[sha256.Size]byte]TokenEntry

	mu        sync.Mutex
	fromFile  map[[sha256.Size]byte]TokenEntry
	fileStamp fileStamp
	checked   time.Time
}

type fileStamp struct {
	exists  bool
	modTime time.Time
	size    int64
	ino     uint64
}

// NewAuthenticator returns an Authenticator over opts, after reading the
// tokens file once. It fails when the options are invalid or the file
// exists but is malformed.
func NewAuthenticator(opts AuthenticatorOptions) (*Authenticator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.RecheckInterval == 0 {
		opts.RecheckInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &Authenticator{opts: opts, static: map[[sha256.Size]byte]TokenEntry{}}
	if opts.AdminToken != "" {
		a.static[sha256.Sum256([]byte(opts.AdminToken))] = TokenEntry{
			Token: opts.AdminToken,
			User:  User{Name: AdminUser, UID: AdminUser, Groups: []string{MastersGroup}},
		}
	}
	if opts.TokenFile != "" {
		a.mu.Lock()
		err := a.reloadLocked(time.Now())
		a.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

// AuthenticateRequest returns the user of r's "Authorization: Bearer
// <token>" header, and false when the header is missing, malformed or names
// no known token. The user's groups include AuthenticatedGroup.
func (a *Authenticator) AuthenticateRequest(r *http.Request) (User, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return User{}, false
	}
	return a.AuthenticateToken(strings.TrimSpace(token))
}

// AuthenticateToken returns the user of a bearer token, and false for an
// unknown or empty token.
func (a *Authenticator) AuthenticateToken(token string) (User, bool) {
	if token == "" {
		return User{}, false
	}
	sum := sha256.Sum256([]byte(token))
	if e, ok := a.static[sum]; ok && equalTokens(e.Token, token) {
		return withAuthenticated(e.User), true
	}
	if a.opts.TokenFile == "" {
		return User{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	e, ok := a.fromFile[sum]
	if !ok || now.Sub(a.checked) >= a.opts.RecheckInterval {
		if err := a.reloadLocked(now); err != nil {
			// Keep serving the tokens last read: a half-edited file must
			// not lock every node out.
			a.opts.Logger.Error("read tokens file", "path", a.opts.TokenFile, "err", err)
		}
		e, ok = a.fromFile[sum]
	}
	if !ok || !equalTokens(e.Token, token) {
		return User{}, false
	}
	return withAuthenticated(e.User), true
}

// reloadLocked re-reads the tokens file when its stamp changed.
func (a *Authenticator) reloadLocked(now time.Time) error {
	a.checked = now
	stamp, err := stampOf(a.opts.TokenFile)
	if err != nil {
		return err
	}
	if a.fromFile != nil && stamp == a.fileStamp {
		return nil
	}
	entries, err := LoadTokenFile(a.opts.TokenFile)
	if err != nil {
		return err
	}
	m := make(map[[sha256.Size]byte]TokenEntry, len(entries))
	for _, e := range entries {
		m[sha256.Sum256([]byte(e.Token))] = e
	}
	a.fromFile, a.fileStamp = m, stamp
	return nil
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return fileStamp{}, nil
	}
	if err != nil {
		return fileStamp{}, fmt.Errorf("stat token file: %w", err)
	}
	s := fileStamp{exists: true, modTime: fi.ModTime(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s, nil
}

func equalTokens(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func withAuthenticated(u User) User {
	u.Groups = append(slices.Clip(u.Groups), AuthenticatedGroup)
	return u
}
