package reconciler

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/navarch/navarch/api"
	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// SourceClient reads and writes Sources through the API server, as a
// typed client-go client would (navarch's GitOps kinds have no generated
// clientset).
type SourceClient struct {
	rc *rest.RESTClient
}

// NewSourceClient returns a client of gitops.navarch.dev/v1alpha1 Sources
// for cfg. It fails when cfg is unusable.
func NewSourceClient(cfg *rest.Config) (*SourceClient, error) {
	c := rest.CopyConfig(cfg)
	gv := gitopsv1alpha1.SchemeGroupVersion
	c.GroupVersion = &gv
	c.APIPath = "/apis"
	c.ContentType = runtime.ContentTypeJSON
	c.NegotiatedSerializer = api.Codecs.WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("source client: %w", err)
	}
	return &SourceClient{rc: rc}, nil
}

// Get returns the Source namespace/name; a missing one is a NotFound
// status error (apierrors.IsNotFound).
func (c *SourceClient) Get(ctx context.Context, namespace, name string) (*gitopsv1alpha1.Source, error) {
	out := &gitopsv1alpha1.Source{}
	err := c.rc.Get().Namespace(namespace).Resource("sources").Name(name).Do(ctx).Into(out)
	return out, err
}

// List returns the Sources of namespace ("" for every namespace).
func (c *SourceClient) List(ctx context.Context, namespace string, opts metav1.ListOptions) (*gitopsv1alpha1.SourceList, error) {
	out := &gitopsv1alpha1.SourceList{}
	err := c.rc.Get().Namespace(namespace).Resource("sources").VersionedParams(&opts, api.ParameterCodec).Do(ctx).Into(out)
	return out, err
}

// Watch watches the Sources of namespace ("" for every namespace).
func (c *SourceClient) Watch(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return c.rc.Get().Namespace(namespace).Resource("sources").VersionedParams(&opts, api.ParameterCodec).Watch(ctx)
}

// Create creates src and returns what the server stored.
func (c *SourceClient) Create(ctx context.Context, src *gitopsv1alpha1.Source) (*gitopsv1alpha1.Source, error) {
	out := &gitopsv1alpha1.Source{}
	err := c.rc.Post().Namespace(src.Namespace).Resource("sources").Body(src).Do(ctx).Into(out)
	return out, err
}

// Update replaces src (its spec and metadata).
func (c *SourceClient) Update(ctx context.Context, src *gitopsv1alpha1.Source) (*gitopsv1alpha1.Source, error) {
	out := &gitopsv1alpha1.Source{}
	err := c.rc.Put().Namespace(src.Namespace).Resource("sources").Name(src.Name).Body(src).Do(ctx).Into(out)
	return out, err
}

// UpdateStatus replaces src's status through the status subresource,
// with src's resourceVersion as the precondition.
func (c *SourceClient) UpdateStatus(ctx context.Context, src *gitopsv1alpha1.Source) (*gitopsv1alpha1.Source, error) {
	out := &gitopsv1alpha1.Source{}
	err := c.rc.Put().Namespace(src.Namespace).Resource("sources").Name(src.Name).SubResource("status").Body(src).Do(ctx).Into(out)
	return out, err
}

// Patch patches the Source namespace/name.
func (c *SourceClient) Patch(ctx context.Context, namespace, name string, pt types.PatchType, data []byte) (*gitopsv1alpha1.Source, error) {
	out := &gitopsv1alpha1.Source{}
	err := c.rc.Patch(pt).Namespace(namespace).Resource("sources").Name(name).Body(data).Do(ctx).Into(out)
	return out, err
}

// RequestSync sets the gitops.navarch.dev/requestedAt annotation of the
// Source to now, which asks its reconciler to fetch and sync at once, and
// returns the value set: the sync answered it once
// status.lastHandledRequestedAt holds it.
func (c *SourceClient) RequestSync(ctx context.Context, namespace, name string, now time.Time) (string, error) {
	token := now.UTC().Format(time.RFC3339Nano)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, gitopsv1alpha1.AnnotationRequestedAt, token)
	_, err := c.Patch(ctx, namespace, name, types.MergePatchType, []byte(patch))
	return token, err
}

// listWatch is the ListerWatcher of an informer on every Source.
func (c *SourceClient) listWatch() *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return c.List(ctx, "", opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, "", opts)
		},
	}
}
