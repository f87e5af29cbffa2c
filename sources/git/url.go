package git

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	neturl "net/url"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Schemes this package fetches from. scp-like addresses (git@host:path)
// count as ssh.
var schemes = map[string]bool{"https": true, "http": true, "ssh": true, "file": true}

// endpoint parses a repository URL and refuses schemes other than https,
// http, ssh (including scp-like git@host:path) and file.
func endpoint(url string) (*transport.Endpoint, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, fmt.Errorf("parse repository url %s: %w", redactURL(url), err)
	}
	if !schemes[ep.Protocol] {
		return nil, fmt.Errorf("repository url %s: scheme %q not supported (https, http, ssh, git@host:path, file)",
			redactURL(url), ep.Protocol)
	}
	return ep, nil
}

// redactURL hides a password held in the URL's user information.
func redactURL(url string) string {
	if !strings.Contains(url, "://") {
		return url
	}
	u, err := neturl.Parse(url)
	if err != nil {
		return "<unparsable url>"
	}
	return u.Redacted()
}

// urlSecrets lists the secrets a URL itself holds, for redaction.
func urlSecrets(url string) []string {
	if !strings.Contains(url, "://") {
		return nil
	}
	u, err := neturl.Parse(url)
	if err != nil || u.User == nil {
		return nil
	}
	if p, ok := u.User.Password(); ok {
		return []string{p}
	}
	return nil
}

// cacheKey names a repository in the cache: the URL without user
// information, so that changing credentials keeps the clone.
func cacheKey(url string) string {
	if strings.Contains(url, "://") {
		if u, err := neturl.Parse(url); err == nil {
			u.User = nil
			url = u.String()
		}
	}
	url = strings.TrimSuffix(strings.TrimSuffix(url, "/"), ".git")
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:16])
}
