// Package gittest serves real Git repositories for tests: bare repositories
// in a temporary directory behind `git http-backend` (through net/http/cgi on
// 127.0.0.1), optionally behind HTTP basic auth, with a work clone per
// repository where tests commit and push with the `git` command.
// Server.ServeSSH serves the same repositories over SSH from an in-process
// server (golang.org/x/crypto/ssh running git-upload-pack and
// git-receive-pack) that trusts one generated client key; its host key is
// given as a known_hosts line.
//
// It needs the git binary; NewServer skips the test when git or
// git-http-backend is missing (and fails it when CI=true).
//
// Callers: the tests of sources/git and of the reconciler.
package gittest
