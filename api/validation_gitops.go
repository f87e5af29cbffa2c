package api

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// Source validation.

// MinSourceInterval is the shortest poll interval a Source may ask for.
const MinSourceInterval = time.Second

var (
	// scpLikeURL is Git's scp-like syntax, user@host:path.
	scpLikeURL = regexp.MustCompile(`^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:.+$`)
	commitSHA  = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

func validateSource(s *gitopsv1alpha1.Source) field.ErrorList {
	spec, path := &s.Spec, field.NewPath("spec")
	var errs field.ErrorList
	switch {
	case spec.Git == nil && spec.Directory == nil:
		errs = append(errs, field.Required(path, "must specify one of: `git` or `directory`"))
	case spec.Git != nil && spec.Directory != nil:
		errs = append(errs, field.Forbidden(path.Child("directory"), "may not be specified when `git` is specified"))
	case spec.Git != nil:
		errs = append(errs, validateGitSource(spec.Git, path.Child("git"))...)
	default:
		p := path.Child("directory", "path")
		if spec.Directory.Path == "" {
			errs = append(errs, field.Required(p, ""))
		} else if !isAbsPath(spec.Directory.Path) {
			errs = append(errs, field.Invalid(p, spec.Directory.Path, "must be an absolute path"))
		}
	}
	if spec.Path != "" {
		errs = append(errs, validateLocalDescendingPath(spec.Path, path.Child("path"))...)
	}
	if spec.TargetNamespace != "" {
		errs = append(errs, validateName(spec.TargetNamespace, apivalidation.ValidateNamespaceName, path.Child("targetNamespace"))...)
	}
	if d := spec.Interval.Duration; d < MinSourceInterval {
		errs = append(errs, field.Invalid(path.Child("interval"), d.String(), "must be at least "+MinSourceInterval.String()))
	}
	if t := spec.Timeout; t != nil && t.Duration <= 0 {
		errs = append(errs, field.Invalid(path.Child("timeout"), t.Duration.String(), "must be greater than 0"))
	}
	if w := spec.Webhook; w != nil {
		errs = append(errs, validateSecretRefName(w.SecretRef.Name, path.Child("webhook", "secretRef", "name"))...)
	}
	return errs
}

func validateGitSource(g *gitopsv1alpha1.GitSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if g.URL == "" {
		errs = append(errs, field.Required(path.Child("url"), ""))
	} else if msg := gitURLProblem(g.URL); msg != "" {
		errs = append(errs, field.Invalid(path.Child("url"), redactURL(g.URL), msg))
	}
	ref := path.Child("ref")
	if b := g.Ref.Branch; b != "" && !validRefName(b) {
		errs = append(errs, field.Invalid(ref.Child("branch"), b, "must be a valid Git branch name"))
	}
	if t := g.Ref.Tag; t != "" && !validRefName(t) {
		errs = append(errs, field.Invalid(ref.Child("tag"), t, "must be a valid Git tag name"))
	}
	if c := g.Ref.Commit; c != "" && !commitSHA.MatchString(c) {
		errs = append(errs, field.Invalid(ref.Child("commit"), c, "must be a full commit SHA: 40 lower-case hexadecimal characters"))
	}
	if g.SecretRef != nil {
		errs = append(errs, validateSecretRefName(g.SecretRef.Name, path.Child("secretRef", "name"))...)
	}
	return errs
}

func validateSecretRefName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	return validateName(name, apivalidation.NameIsDNSSubdomain, path)
}

// gitURLProblem says what is wrong with a repository URL, "" if nothing.
func gitURLProblem(raw string) string {
	const want = "must be an https://, http://, ssh:// or file:// URL, or user@host:path"
	if !strings.Contains(raw, "://") {
		if scpLikeURL.MatchString(raw) {
			return ""
		}
		return want
	}
	u, err := url.Parse(raw)
	if err != nil {
		return want
	}
	switch u.Scheme {
	case "https", "http", "ssh":
		if u.Host == "" {
			return "must name a host"
		}
		if u.Path == "" || u.Path == "/" {
			return "must name a repository path"
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return "must name a repository on this machine (file:///path)"
		}
		if !isAbsPath(u.Path) {
			return "must name an absolute path"
		}
	default:
		return want
	}
	return ""
}

// redactURL hides a password in a URL, so that errors never carry one.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	return raw
}

// validRefName follows git check-ref-format for a branch or tag name.
func validRefName(name string) bool {
	if name == "@" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") ||
		strings.HasSuffix(name, ".") || strings.HasSuffix(name, ".lock") || strings.HasPrefix(name, "-") ||
		strings.Contains(name, "..") || strings.Contains(name, "//") || strings.Contains(name, "@{") {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return false
		}
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return false
		}
	}
	return true
}
