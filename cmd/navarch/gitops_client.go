package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/reconciler"
	"github.com/navarch/navarch/sources/git"
)

// gitopsNamespace is where `navarch up` creates Sources, and where the
// GitOps verbs look first for a Source named without a namespace.
const gitopsNamespace = "navarch-system"

// gitopsClient is what the GitOps verbs (sync, history, diff, rollback)
// share: the API clients from kubectl's flags, and the Source they act on.
type gitopsClient struct {
	k       *kubeClient
	config  *rest.Config
	sources *reconciler.SourceClient
	kube    kubernetes.Interface
}

func newGitOpsClient(k *kubeClient) (*gitopsClient, error) {
	cfg, err := k.factory.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	sc, err := reconciler.NewSourceClient(cfg)
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &gitopsClient{k: k, config: cfg, sources: sc, kube: kube}, nil
}

// source finds the Source an argument names: "<namespace>/<name>", or a
// name in the namespace of --namespace; without --namespace, in
// navarch-system and then in the kubeconfig's namespace.
func (g *gitopsClient) source(ctx context.Context, arg string) (*gitopsv1alpha1.Source, error) {
	ns, explicit, err := g.k.factory.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, err
	}
	name := arg
	candidates := []string{ns}
	switch {
	case strings.Contains(arg, "/"):
		ns, name, _ = strings.Cut(arg, "/")
		candidates = []string{ns}
	case !explicit && ns != gitopsNamespace:
		candidates = []string{gitopsNamespace, ns}
	}
	for _, n := range candidates {
		src, err := g.sources.Get(ctx, n, name)
		if err == nil {
			return src, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("source %q not found in namespace %s", name, strings.Join(candidates, " or "))
}

// openSource is how every GitOps verb starts: the clients from kubectl's
// flags, and the Source arg names (see source).
func openSource(ctx context.Context, k *kubeClient, arg string) (*gitopsClient, *gitopsv1alpha1.Source, error) {
	g, err := newGitOpsClient(k)
	if err != nil {
		return nil, nil, err
	}
	src, err := g.source(ctx, arg)
	if err != nil {
		return nil, nil, err
	}
	return g, src, nil
}

// gitAccess is what a verb that reaches the Source's repository itself
// needs: the client's cache of clones (gitCache) and the credentials of
// the Source's Secret.
func (g *gitopsClient) gitAccess(ctx context.Context, src *gitopsv1alpha1.Source) (*git.Cache, git.Credentials, error) {
	creds, err := reconciler.Credentials(ctx, g.kube, src)
	if err != nil {
		return nil, git.Credentials{}, err
	}
	cache, err := gitCache()
	if err != nil {
		return nil, git.Credentials{}, err
	}
	return cache, creds, nil
}

// gitCache is the client's own cache of clones, under the user's cache
// directory ($XDG_CACHE_HOME/navarch/git), so that a diff or a rollback
// fetches only what is new.
func gitCache() (*git.Cache, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return git.New(git.Options{Dir: filepath.Join(dir, "navarch", "git")})
}
