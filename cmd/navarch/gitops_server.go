package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	"github.com/navarch/navarch/api"
	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/apiserver"
	"github.com/navarch/navarch/config"
	"github.com/navarch/navarch/reconciler"
	"github.com/navarch/navarch/store"
)

// gitOps is the GitOps reconciler of a control plane process: it writes
// revisions to the store the API server serves, reads Sources through that
// server, and receives webhooks on it.
type gitOps struct {
	ctrl    *reconciler.Controller
	sources *reconciler.SourceClient
	wanted  []*gitopsv1alpha1.Source
	log     *slog.Logger
}

// newGitOps creates the reconciler of a control plane: it mounts the
// webhook receiver on srv at /webhooks/ and registers the reconciler's
// metrics on srv's /metrics registry.
func newGitOps(cfg *config.Config, logger *slog.Logger, st *store.Store, srv *apiserver.Server) (*gitOps, error) {
	wanted := configuredSources(cfg.GitOps)
	client := &rest.Config{
		Host:            srv.URL(),
		BearerToken:     srv.AdminToken(),
		TLSClientConfig: rest.TLSClientConfig{CAData: srv.CAPEM()},
		QPS:             200,
		Burst:           400,
		UserAgent:       "navarch-reconciler",
	}
	log := logger.With("component", "reconciler")
	// The revision's writes go through the API server's own admission
	// (defaulting, validation, managed fields, Service allocations), as
	// ops of the revision's one transaction.
	admit := reconciler.AdmitFunc(func(ctx context.Context, action reconciler.Action, res api.Resource, obj, old runtime.Object) ([]store.Op, error) {
		return srv.Admit(ctx, string(action), res, obj, old, reconciler.FieldManager)
	})
	ctrl, err := reconciler.New(reconciler.Options{Store: st, Config: client, DataDir: cfg.DataDir, Logger: log, Admitter: admit})
	if err != nil {
		return nil, err
	}
	if err := ctrl.Register(srv.Metrics().Registry()); err != nil {
		return nil, fmt.Errorf("register reconciler metrics: %w", err)
	}
	srv.Handle(reconciler.WebhookPath, ctrl.WebhookHandler())
	sc, err := reconciler.NewSourceClient(client)
	if err != nil {
		return nil, err
	}
	return &gitOps{ctrl: ctrl, sources: sc, wanted: wanted, log: log}, nil
}

// run waits for the API server, creates or updates the configured
// Sources, and runs the reconciler until ctx ends.
func (g *gitOps) run(ctx context.Context) error {
	if err := g.ensureSources(ctx); err != nil {
		return err
	}
	return g.ctrl.Run(ctx)
}

// ensureSources creates the configured Sources, or sets the spec of those
// that exist to the configured one, retrying while the API server starts.
func (g *gitOps) ensureSources(ctx context.Context) error {
	for _, want := range g.wanted {
		for {
			err := g.ensureSource(ctx, want)
			if err == nil {
				g.log.Info("source configured", "source", want.Namespace+"/"+want.Name)
				break
			}
			if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
				return fmt.Errorf("source %s/%s: %w", want.Namespace, want.Name, err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond): // the API server is starting
			}
		}
	}
	return nil
}

func (g *gitOps) ensureSource(ctx context.Context, want *gitopsv1alpha1.Source) error {
	cur, err := g.sources.Get(ctx, want.Namespace, want.Name)
	if apierrors.IsNotFound(err) {
		_, err = g.sources.Create(ctx, want)
		return err
	}
	if err != nil {
		return err
	}
	cur.Spec = want.Spec
	_, err = g.sources.Update(ctx, cur)
	return err
}

// configuredSources turns the gitops section into Sources.
func configuredSources(c config.GitOps) []*gitopsv1alpha1.Source {
	var out []*gitopsv1alpha1.Source
	if c.Git != "" || c.Dir != "" {
		sc := config.SourceConfig{Git: c.Git, Branch: c.Branch, Dir: c.Dir, Path: c.Path}
		sc.Name = sourceName(c.Git, c.Dir)
		out = append(out, sourceOf(sc))
	}
	for _, sc := range c.Sources {
		out = append(out, sourceOf(sc))
	}
	return out
}

// sourceOf is the Source a config entry declares.
func sourceOf(sc config.SourceConfig) *gitopsv1alpha1.Source {
	ns := sc.Namespace
	if ns == "" {
		ns = gitopsNamespace
	}
	prune := sc.Prune == nil || *sc.Prune
	src := &gitopsv1alpha1.Source{
		ObjectMeta: metav1.ObjectMeta{Name: sc.Name, Namespace: ns},
		Spec: gitopsv1alpha1.SourceSpec{
			Path: sc.Path, TargetNamespace: sc.TargetNamespace, Prune: prune,
			Interval: metav1.Duration{Duration: sc.Interval},
		},
	}
	if sc.Git != "" {
		g := &gitopsv1alpha1.GitSource{URL: sc.Git, Ref: gitopsv1alpha1.GitRef{Branch: sc.Branch, Tag: sc.Tag, Commit: sc.Commit}}
		if sc.Secret != "" {
			g.SecretRef = &gitopsv1alpha1.LocalObjectReference{Name: sc.Secret}
		}
		src.Spec.Git = g
	} else {
		src.Spec.Directory = &gitopsv1alpha1.DirectorySource{Path: sc.Dir}
	}
	if sc.WebhookSecret != "" {
		src.Spec.Webhook = &gitopsv1alpha1.WebhookSpec{SecretRef: gitopsv1alpha1.LocalObjectReference{Name: sc.WebhookSecret}}
	}
	return src
}

var notNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// sourceName names the Source of --git or --dir after the repository or
// folder: https://host/org/shop.git → shop, /srv/manifests → manifests.
func sourceName(gitURL, dir string) string {
	base := filepath.Base(dir)
	if gitURL != "" {
		p := gitURL
		if u, err := url.Parse(gitURL); err == nil && u.Path != "" {
			p = u.Path
		} else if _, after, ok := strings.Cut(gitURL, ":"); ok {
			p = after // git@host:org/shop.git
		}
		base = strings.TrimSuffix(path.Base(strings.TrimSuffix(p, "/")), ".git")
	}
	name := strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(base), "-"), "-")
	if len(name) > 63 {
		name = strings.Trim(name[:63], "-")
	}
	if name == "" {
		return "default"
	}
	return name
}

// runBeside runs fns until ctx ends or one of them fails, which stops the
// others; it returns the first failure.
func runBeside(ctx context.Context, fns ...func(context.Context) error) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, fn := range fns {
		g.Go(func() error { return fn(ctx) })
	}
	return g.Wait()
}

// addGitOpsCommands adds the GitOps verbs to the command tree.
func addGitOpsCommands(root *cobra.Command, k *kubeClient) {
	root.AddGroup(&cobra.Group{ID: "gitops", Title: "GitOps:"})
	for _, c := range []*cobra.Command{newSyncCommand(k), newHistoryCommand(k), newDiffCommand(k), newRollbackCommand(k)} {
		c.GroupID = "gitops"
		root.AddCommand(c)
	}
}
