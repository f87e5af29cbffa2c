package kubectli18n

import (
	"os"
	"strings"

	"k8s.io/kubectl/pkg/util/i18n"
)

func init() {
	// An error means a catalog is loaded already: there is nothing left
	// to save then, and kubectl's own loader has done its work.
	_ = i18n.SetLoadTranslationsFunc(load)
}

// load loads kubectl's catalog for the process's locale unless that
// catalog is the identity.
func load() error {
	if !needsCatalog(locale(os.Getenv)) {
		return nil
	}
	return i18n.LoadTranslations("kubectl", nil)
}

// locale is the locale kubectl reads: LC_ALL, else LC_MESSAGES, else LANG.
func locale(getenv func(string) string) string {
	for _, key := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(key); v != "" {
			return v
		}
	}
	return ""
}

// needsCatalog reports whether kubectl could pick a catalog other than
// its "default" or "en_US" one (both translate every message to itself)
// for locale. kubectl takes the language before the one '.' of a
// "language.codeset" locale, and falls back to "default" for any other
// form and for a language it has no catalog of; its catalogs are all of
// languages named like "de_DE".
func needsCatalog(locale string) bool {
	lang, codeset, ok := strings.Cut(locale, ".")
	if !ok || strings.Contains(codeset, ".") {
		return false
	}
	return strings.Contains(lang, "_") && lang != "en_US"
}
