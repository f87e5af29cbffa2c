package e2e

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// answerLine matches a line of the example app's answer:
// "<greeting>: pod <pod>, version <version>".
var answerLine = regexp.MustCompile(`pod (\S+), version (\S+)`)

// answers tallies what a Service answered.
type answers struct {
	pods     map[string]int // the web pods that answered
	versions map[string]int // web's version
	upstream map[string]int // the api's version, from web's second line
	failures int
	lastErr  string
}

func (a answers) String() string {
	return fmt.Sprintf("%d failures (last: %s), versions %v, upstream versions %v, pods %v",
		a.failures, a.lastErr, a.versions, a.upstream, slices.Sorted(maps.Keys(a.pods)))
}

// onlyVersion reports whether every request was answered by version v
// (web and the api behind it).
func (a answers) onlyVersion(v string) bool {
	return a.failures == 0 && len(a.versions) == 1 && a.versions[v] > 0 &&
		len(a.upstream) == 1 && a.upstream[v] > 0
}

// sample sends n GET requests to url, each on a new connection (so that
// each is balanced anew), and tallies the answers.
func sample(url string, n int) answers {
	client := &http.Client{
		Timeout:   3 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
	a := answers{pods: map[string]int{}, versions: map[string]int{}, upstream: map[string]int{}}
	for i := 0; i < n; i++ {
		resp, err := client.Get(url)
		if err != nil {
			a.failures++
			a.lastErr = err.Error()
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := answerLine.FindAllStringSubmatch(string(body), -1)
		if err != nil || resp.StatusCode != http.StatusOK || len(m) == 0 {
			a.failures++
			a.lastErr = fmt.Sprintf("status %d: %q", resp.StatusCode, strings.TrimSpace(string(body)))
			continue
		}
		a.pods[m[0][1]]++
		a.versions[m[0][2]]++
		if len(m) > 1 {
			a.upstream[m[1][2]]++
		} else {
			a.upstream["(no answer: "+strings.TrimSpace(string(body))+")"]++
		}
	}
	return a
}
