package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
)

// Well-known identities.
const (
	// MastersGroup is the admin group: it may do everything.
	MastersGroup = "system:masters"
	// ViewGroup may read everything but Secrets.
	ViewGroup = "navarch:view"
	// NodesGroup is the group of every node identity.
	NodesGroup = "system:nodes"
	// NodeUserPrefix starts a node's user name: system:node:<node>.
	NodeUserPrefix = "system:node:"
	// AuthenticatedGroup is given to every authenticated user.
	AuthenticatedGroup = "system:authenticated"
	// AdminUser is the user name of the admin token.
	AdminUser = "navarch-admin"
)

// ErrTokenFile is wrapped by the errors LoadTokenFile returns for a file
// that is not in the static token format.
var ErrTokenFile = errors.New("malformed token file")

// User is an authenticated identity.
type User struct {
	Name   string
	UID    string
	Groups []string
}

// InGroup reports whether u is a member of group.
func (u User) InGroup(group string) bool { return slices.Contains(u.Groups, group) }

// TokenEntry is one line of a tokens file: a bearer token and its user.
type TokenEntry struct {
	Token string
	User  User
}

// NewToken returns a new random token: 32 bytes from crypto/rand,
// base64url-encoded without padding (43 characters).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// EnsureAdminToken returns the token kept in the file at path, creating the
// file (mode 0600) with a new token when it does not exist or is empty.
func EnsureAdminToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if tok := strings.TrimSpace(string(data)); tok != "" {
			return tok, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read admin token: %w", err)
	}
	tok, err := NewToken()
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return tok, nil
}

// LoadTokenFile reads a tokens file in Kubernetes' static token format:
// token,user,uid[,"group1,group2"] per line. Lines starting with # are
// comments; a line with an empty token is skipped. A missing file reads as
// no entries. A line with fewer than three fields is an error wrapping
// ErrTokenFile.
func LoadTokenFile(path string) ([]TokenEntry, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	return parseTokens(path, data)
}

func parseTokens(path string, data []byte) ([]TokenEntry, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var out []TokenEntry
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("token file %s: %w: %v", path, ErrTokenFile, err)
		}
		if len(rec) < 3 {
			line, _ := r.FieldPos(0)
			return nil, fmt.Errorf("token file %s line %d: %w: want at least 3 fields (token, user, uid), got %d", path, line, ErrTokenFile, len(rec))
		}
		if rec[0] == "" {
			continue
		}
		e := TokenEntry{Token: rec[0], User: User{Name: rec[1], UID: rec[2]}}
		if len(rec) >= 4 && rec[3] != "" {
			e.User.Groups = strings.Split(rec[3], ",")
		}
		out = append(out, e)
	}
}

// AppendToken adds e to the tokens file at path, creating the file with
// mode 0600. Concurrent appends (several `navarch token create` at once)
// are serialised with a lock file next to it; the file is replaced
// atomically, so a server re-reading it sees all of it or none.
func AppendToken(path string, e TokenEntry) error {
	if e.Token == "" || strings.ContainsAny(e.Token, ",\"\r\n \t") || e.User.Name == "" {
		return fmt.Errorf("append token for %q: %w: empty or unquotable token or user", e.User.Name, ErrTokenFile)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read token file: %w", err)
	}
	if _, err := parseTokens(path, data); err != nil {
		return err
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	var line bytes.Buffer
	w := csv.NewWriter(&line)
	rec := []string{e.Token, e.User.Name, e.User.UID}
	if len(e.User.Groups) > 0 {
		rec = append(rec, strings.Join(e.User.Groups, ","))
	}
	if err := w.Write(rec); err != nil {
		return fmt.Errorf("encode token line: %w", err)
	}
	w.Flush()
	return writeFileAtomic(path, append(data, line.Bytes()...), 0o600)
}

// NewNodeToken creates a token for node (user system:node:<node>, group
// system:nodes), appends it to the tokens file at path and returns it. Each
// call creates a new token; earlier ones stay valid until their lines are
// removed.
func NewNodeToken(path, node string) (string, error) {
	if node == "" || strings.ContainsAny(node, ",\"\r\n") {
		return "", fmt.Errorf("node token: invalid node name %q", node)
	}
	tok, err := NewToken()
	if err != nil {
		return "", err
	}
	name := NodeUserPrefix + node
	if err := AppendToken(path, TokenEntry{Token: tok, User: User{Name: name, UID: name, Groups: []string{NodesGroup}}}); err != nil {
		return "", err
	}
	return tok, nil
}

// lockFile takes an exclusive advisory lock on path and returns its release.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
