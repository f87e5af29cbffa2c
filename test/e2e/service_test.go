package e2e

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os/exec"
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

// localRoute reports whether this machine routes ip to itself (a local
// route, as the proxy makes for the Service range) or to one of the
// test's bridges, with what `ip route get` says. The test sends nothing to
// an address that would leave the machine.
func (w *world) localRoute(ip string) (bool, string) {
	if net.ParseIP(ip) == nil {
		return false, fmt.Sprintf("%q is not an IP address", ip)
	}
	out, err := exec.Command("ip", "-o", "route", "get", ip).CombinedOutput()
	route := strings.TrimSpace(string(out))
	if err != nil {
		return false, fmt.Sprintf("ip route get %s: %v: %s", ip, err, route)
	}
	f := strings.Fields(route)
	if len(f) > 0 && f[0] == "local" {
		return true, route
	}
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "dev" && strings.HasPrefix(f[i+1], w.name("")) {
			return true, route
		}
	}
	return false, route
}

// sample sends n GET requests to http://ip/, each on a new connection (so
// that each is balanced anew), and tallies the answers. It fails the test
// at once, before sending anything, when ip is not routed on this
// machine.
func (w *world) sample(ip string, n int) answers {
	w.t.Helper()
	if ok, route := w.localRoute(ip); !ok {
		w.t.Fatalf("refusing to send requests to %s: it is not routed on this machine (%s)", ip, route)
	}
	url := "http://" + ip + "/"
	client := &http.Client{
		Timeout:   3 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
		// A redirect could lead anywhere; the app sends none.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
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
