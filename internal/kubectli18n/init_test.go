package kubectli18n_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/chai2010/gettext-go"
	// kubectl's commands, whose package variables call i18n.T while the
	// test binary initializes, as they do in navarch. Imported here, in
	// the external test package, so that the package under test does not
	// depend on them.
	_ "k8s.io/kubectl/pkg/cmd"

	_ "github.com/navarch/navarch/internal/kubectli18n"
)

// TestNoCatalogIsLoadedWhileKubectlInitializes checks that the loader was
// in place before kubectl's package variables called i18n.T: a catalog
// loaded by kubectl's own loader binds the message domain "k8s".
func TestNoCatalogIsLoadedWhileKubectlInitializes(t *testing.T) {
	if !english(os.Getenv) {
		t.Skip("the locale may have a catalog of its own")
	}
	if got := gettext.SetDomain(""); got == "k8s" {
		t.Errorf("message domain: got %q, want none bound (kubectl's catalog was loaded)", got)
	}
}

// TestAGermanLocaleStillLoadsKubectlsCatalog runs this test binary again
// with LANG=de_DE.UTF-8 and reads the message domain it bound.
func TestAGermanLocaleStillLoadsKubectlsCatalog(t *testing.T) {
	if os.Getenv(domainReport) != "" {
		fmt.Print(gettext.SetDomain(""))
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAGermanLocaleStillLoadsKubectlsCatalog$")
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "LC_ALL" && k != "LC_MESSAGES" && k != "LANG" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "LANG=de_DE.UTF-8", domainReport+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run with LANG=de_DE.UTF-8: %v\n%s", err, out)
	}
	if got := strings.TrimSuffix(string(out), "PASS\n"); got != "k8s" {
		t.Errorf("message domain with LANG=de_DE.UTF-8: got %q, want %q (kubectl's catalog)", got, "k8s")
	}
}

// domainReport names the variable that makes the test above print the
// message domain of the process.
const domainReport = "KUBECTLI18N_REPORT_DOMAIN"

// english reports whether the locale in the environment is one whose
// kubectl catalog translates every message to itself.
func english(getenv func(string) string) bool {
	for _, key := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(key); v != "" {
			return v == "C" || v == "POSIX" || strings.HasPrefix(v, "C.") || strings.HasPrefix(v, "en_US.")
		}
	}
	return true
}
