package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// GitOps declares the Sources a control plane creates (or brings up to
// date) in navarch-system when it starts: one from the command line
// (--git URL [--branch B] [--path P], or --dir PATH) and any number from
// the config file:
//
//	gitops:
//	  sources:
//	  - name: shop
//	    git: https://git.example.com/shop.git
//	    branch: main
//	    path: deploy
//	    secret: shop-git        # credentials (username/password, identity/known_hosts)
//	    webhook-secret: shop-hook
//	  - name: local
//	    dir: /srv/manifests
//	    interval: 30s
//	    prune: false
type GitOps struct {
	// Git is the URL of a repository to follow (--git).
	Git string `mapstructure:"git"`
	// Branch of Git to follow (--branch); "" means main.
	Branch string `mapstructure:"branch"`
	// Path is the folder of manifests inside Git or Dir (--path).
	Path string `mapstructure:"path"`
	// Dir is a directory to follow instead of a repository (--dir).
	Dir string `mapstructure:"dir"`
	// Sources are further Sources, from the config file.
	Sources []SourceConfig `mapstructure:"sources"`
}

// SourceConfig is one Source of the config file.
type SourceConfig struct {
	// Name of the Source; required.
	Name string `mapstructure:"name"`
	// Namespace of the Source; "" means navarch-system.
	Namespace string `mapstructure:"namespace"`
	// Git is a repository URL; exactly one of Git and Dir is set.
	Git string `mapstructure:"git"`
	// Branch, Tag or Commit of Git to follow (at most one; default branch main).
	Branch string `mapstructure:"branch"`
	Tag    string `mapstructure:"tag"`
	Commit string `mapstructure:"commit"`
	// Secret names a Secret with the repository's credentials.
	Secret string `mapstructure:"secret"`
	// Dir is a directory on this machine.
	Dir string `mapstructure:"dir"`
	// Path is the folder of manifests inside the repository or directory.
	Path string `mapstructure:"path"`
	// TargetNamespace for namespaced objects that name none.
	TargetNamespace string `mapstructure:"target-namespace"`
	// Interval between polls; 0 means the Source's default (1m).
	Interval time.Duration `mapstructure:"interval"`
	// Prune deletes what the repository no longer has; nil means true.
	Prune *bool `mapstructure:"prune"`
	// WebhookSecret names a Secret whose "token" authenticates webhooks.
	WebhookSecret string `mapstructure:"webhook-secret"`
}

// GitOpsOptions returns the options that create a Source at start
// (navarch up, navarch server).
func GitOpsOptions() []Option {
	return []Option{
		{Key: "gitops.git", Flag: "git", Usage: "Git repository whose manifests to apply (creates a Source in navarch-system)", Default: ""},
		{Key: "gitops.branch", Flag: "branch", Usage: "branch of --git to follow", Default: "main"},
		{Key: "gitops.path", Flag: "path", Usage: "folder of manifests inside --git or --dir", Default: ""},
		{Key: "gitops.dir", Flag: "dir", Usage: "directory whose manifests to apply, watched for changes (creates a Source in navarch-system)", Default: ""},
	}
}

// Validate reports every invalid GitOps setting.
func (g GitOps) Validate() error {
	var errs []error
	if g.Git != "" && g.Dir != "" {
		errs = append(errs, errors.New("gitops.git and gitops.dir (--git, --dir): set one, not both"))
	}
	if g.Dir != "" && !filepath.IsAbs(g.Dir) {
		errs = append(errs, fmt.Errorf("gitops.dir: want an absolute path, got %q", g.Dir))
	}
	names := map[string]bool{}
	for i, s := range g.Sources {
		where := fmt.Sprintf("gitops.sources[%d]", i)
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required", where))
		}
		key := s.Namespace + "/" + s.Name
		if names[key] {
			errs = append(errs, fmt.Errorf("%s.name: %q declared twice", where, s.Name))
		}
		names[key] = true
		if (s.Git == "") == (s.Dir == "") {
			errs = append(errs, fmt.Errorf("%s: set exactly one of git and dir", where))
		}
		if s.Dir != "" && !filepath.IsAbs(s.Dir) {
			errs = append(errs, fmt.Errorf("%s.dir: want an absolute path, got %q", where, s.Dir))
		}
		refs := 0
		for _, r := range []string{s.Branch, s.Tag, s.Commit} {
			if r != "" {
				refs++
			}
		}
		if refs > 1 {
			errs = append(errs, fmt.Errorf("%s: set at most one of branch, tag and commit", where))
		}
		if s.Interval < 0 {
			errs = append(errs, fmt.Errorf("%s.interval: want a positive duration, got %s", where, s.Interval))
		}
	}
	return errors.Join(errs...)
}

// expandPaths expands ~/ in the directories and makes them absolute.
func (g *GitOps) expandPaths() error {
	paths := []*string{&g.Dir}
	for i := range g.Sources {
		paths = append(paths, &g.Sources[i].Dir)
	}
	for _, p := range paths {
		if *p == "" {
			continue
		}
		s, err := expandHome(*p)
		if err != nil {
			return err
		}
		if *p, err = filepath.Abs(s); err != nil {
			return fmt.Errorf("gitops dir %s: %w", s, err)
		}
	}
	return nil
}
