package kubectli18n

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chai2010/gettext-go/po"
)

func TestNeedsCatalogOnlyForLocalesKubectlTranslates(t *testing.T) {
	tests := []struct {
		locale string
		want   bool
	}{
		{"", false},
		{"C", false},
		{"POSIX", false},
		{"C.UTF-8", false},
		{"en_US.UTF-8", false},
		{"en_US", false},
		{"default.UTF-8", false},
		{"de_DE", false}, // no codeset: kubectl falls back to its default
		{"de_DE.UTF-8", true},
		{"ja_JP.eucJP", true},
		{"fr_FR.UTF-8.x", false},
		{"en_GB.UTF-8", true}, // kubectl finds no catalog and loads its default
	}
	for _, tt := range tests {
		if got := needsCatalog(tt.locale); got != tt.want {
			t.Errorf("needsCatalog(%q): got %v, want %v", tt.locale, got, tt.want)
		}
	}
}

func TestLocaleIsReadInKubectlsOrder(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, ""},
		{map[string]string{"LANG": "de_DE.UTF-8"}, "de_DE.UTF-8"},
		{map[string]string{"LANG": "de_DE.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8"}, "fr_FR.UTF-8"},
		{map[string]string{"LANG": "de_DE.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8", "LC_ALL": "C"}, "C"},
	}
	for _, tt := range tests {
		if got := locale(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("locale(%v): got %q, want %q", tt.env, got, tt.want)
		}
	}
}

// TestSkippedCatalogsTranslateEveryMessageToItself reads the catalogs the
// loader skips from the kubectl module navarch builds with: skipping them
// changes no text only while each of their translations is its message.
func TestSkippedCatalogsTranslateEveryMessageToItself(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubectl").Output()
	if err != nil {
		t.Skipf("no go command to find the kubectl module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "pkg", "util", "i18n", "translations", "kubectl")
	for _, lang := range []string{"default", "en_US"} {
		f, err := po.LoadFile(filepath.Join(dir, lang, "LC_MESSAGES", "k8s.po"))
		if err != nil {
			t.Fatalf("catalog %s: %v", lang, err)
		}
		if len(f.Messages) == 0 {
			t.Fatalf("catalog %s: no messages", lang)
		}
		for _, m := range f.Messages {
			if m.MsgStr != "" && m.MsgStr != m.MsgId {
				t.Errorf("catalog %s translates %q: got %q, want the message itself", lang, m.MsgId, m.MsgStr)
			}
			if m.MsgIdPlural != "" || len(m.MsgStrPlural) > 0 {
				t.Errorf("catalog %s has plural forms for %q, which a skipped catalog would change", lang, m.MsgId)
			}
		}
	}
}
