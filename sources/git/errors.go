package git

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Sentinel errors, tested with errors.Is. Every error returned by this
// package names the repository URL (without its password).
var (
	// ErrUnreachable: the remote could not be reached: DNS, refused or
	// dropped connection, or the context's deadline passed. Fetch, Revert.
	// A context canceled by the caller is not ErrUnreachable; the error
	// then matches context.Canceled.
	ErrUnreachable = errors.New("repository unreachable")
	// ErrAuth: the remote refused the credentials (HTTP 401/403, SSH
	// authentication or host key verification failed), or the credentials
	// do not fit the URL's scheme. Fetch, Revert.
	ErrAuth = errors.New("authentication failed")
	// ErrRepositoryNotFound: the remote says there is no such repository
	// (HTTP 404; some hosts answer so for private repositories without
	// credentials). Fetch, Revert.
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrRefNotFound: the branch, tag or commit does not exist on the
	// remote, or the remote is empty. Fetch, Revert.
	ErrRefNotFound = errors.New("reference not found")
	// ErrInvalidRef: a commit that is not 40 hexadecimal digits, a path
	// that leaves the repository, or no branch to revert on. Fetch, Files,
	// Revert.
	ErrInvalidRef = errors.New("invalid reference")
	// ErrPathNotFound: the path is not a folder at that revision. Files.
	ErrPathNotFound = errors.New("path not found")
	// ErrSymlinkOutside: a symbolic link in the tree points outside the
	// folder being read. Files.
	ErrSymlinkOutside = errors.New("symlink points outside the folder")
	// ErrNothingToRevert: the revert would not change the branch. Revert.
	ErrNothingToRevert = errors.New("nothing to revert")
	// ErrRevertConflict: a later commit touched a file the reverted commit
	// changed; errors.As gives a *ConflictError. Revert.
	ErrRevertConflict = errors.New("revert conflict")
	// ErrPushRejected: the remote refused the revert commit, also after one
	// retry on a fresh fetch. Revert.
	ErrPushRejected = errors.New("push rejected")
)

// ConflictError says which file a later commit touched, so that a single
// commit cannot be reverted on its own. It matches ErrRevertConflict.
type ConflictError struct {
	// URL of the repository (redacted).
	URL string
	// Reverted is the commit asked to be reverted.
	Reverted string
	// File is the path, from the repository root, touched by both.
	File string
	// Later is the later commit that touched File, and LaterSubject its
	// subject line.
	Later, LaterSubject string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("revert %s in %s: %s: %s was changed again by later commit %s (%s)",
		short(e.Reverted), e.URL, ErrRevertConflict, e.File, short(e.Later), e.LaterSubject)
}

// Is makes errors.Is(err, ErrRevertConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrRevertConflict }

// classify wraps err from a remote operation with the sentinel it stands
// for, names the operation and URL, and removes secrets from the message.
func classify(ctx context.Context, op, url string, secrets []string, err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case isAuth(err):
		kind = ErrAuth
	case errors.Is(err, transport.ErrRepositoryNotFound):
		kind = ErrRepositoryNotFound
	case errors.Is(err, gogit.NoMatchingRefSpecError{}),
		errors.Is(err, transport.ErrEmptyRemoteRepository),
		errors.Is(err, plumbing.ErrReferenceNotFound):
		kind = ErrRefNotFound
	case isUnreachable(ctx, err):
		kind = ErrUnreachable
	}
	msg := strings.TrimRight(err.Error(), ": \n")
	if kind != nil && !strings.Contains(msg, kind.Error()) {
		msg = kind.Error() + ": " + msg
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		err = fmt.Errorf("%w (%w)", ctxErr, err)
	}
	return &remoteError{
		msg:  redact(fmt.Sprintf("%s %s: %s", op, redactURL(url), msg), secrets),
		kind: kind,
		err:  err,
	}
}

// remoteError carries a message scrubbed of secrets while keeping the
// original error (and the sentinel) reachable through errors.Is/As.
type remoteError struct {
	msg  string
	kind error
	err  error
}

func (e *remoteError) Error() string { return e.msg }

func (e *remoteError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

func isAuth(err error) bool {
	if errors.Is(err, transport.ErrAuthenticationRequired) ||
		errors.Is(err, transport.ErrAuthorizationFailed) ||
		errors.Is(err, transport.ErrInvalidAuthMethod) {
		return true
	}
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	var noAuth *ssh.ServerAuthError
	if errors.As(err, &keyErr) || errors.As(err, &revoked) || errors.As(err, &noAuth) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "ssh: handshake failed") ||
		strings.Contains(msg, "ssh: unable to authenticate")
}

func isUnreachable(ctx context.Context, err error) bool {
	if errors.Is(ctx.Err(), context.Canceled) {
		return false // the caller gave up; the remote may be fine
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &netErr) || errors.As(err, &opErr) || errors.As(err, &dnsErr) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection refused") ||
		strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "no route to host") ||
		strings.Contains(msg, "i/o timeout")
}

// redact removes every non-empty secret from s.
func redact(s string, secrets []string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "xxxxx")
		}
	}
	return s
}

// short abbreviates a commit SHA the way `git log --oneline` does.
func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
