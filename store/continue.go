package store

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// continueToken is what a List's continue token holds: the revision the
// first page was read at, where the next page starts (relative to the
// listed prefix, so a token never reaches outside it) and a hash of that
// prefix, so that a token is not replayed against another list.
type continueToken struct {
	Version  int    `json:"v"`
	Revision int64  `json:"rv"`
	Start    string `json:"start"`
	Prefix   string `json:"p"`
}

const continueVersion = 1

// encodeContinue returns the token for the page that starts at nextKey
// (a key under prefix) at revision rev.
func encodeContinue(prefix, nextKey string, rev int64) (string, error) {
	if !strings.HasPrefix(nextKey, prefix) {
		return "", fmt.Errorf("continue key %q is not under %q", nextKey, prefix)
	}
	data, err := json.Marshal(continueToken{
		Version:  continueVersion,
		Revision: rev,
		Start:    strings.TrimPrefix(nextKey, prefix),
		Prefix:   prefixHash(prefix),
	})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(data), nil
}

// decodeContinue returns the key the next page starts at and the revision
// to read it at, or ErrInvalidContinue.
func decodeContinue(token, prefix string) (nextKey string, rev int64, err error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", ErrInvalidContinue, err)
	}
	var t continueToken
	if err := json.Unmarshal(data, &t); err != nil {
		return "", 0, fmt.Errorf("%w: %v", ErrInvalidContinue, err)
	}
	switch {
	case t.Version != continueVersion:
		return "", 0, fmt.Errorf("%w: unknown version %d", ErrInvalidContinue, t.Version)
	case t.Revision <= 0:
		return "", 0, fmt.Errorf("%w: no revision", ErrInvalidContinue)
	case t.Prefix != prefixHash(prefix):
		return "", 0, fmt.Errorf("%w: token of another list", ErrInvalidContinue)
	}
	return prefix + t.Start, t.Revision, nil
}

func prefixHash(prefix string) string {
	h := fnv.New64a()
	h.Write([]byte(prefix))
	return strconv.FormatUint(h.Sum64(), 36)
}
