package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/sources/webhook"
)

// WebhookPath is where the API server mounts WebhookHandler; a Source's
// endpoint is WebhookPath + "<namespace>/<name>".
const WebhookPath = "/webhooks/"

// WebhookTokenKey is the key of the webhook Secret's data holding the
// shared secret.
const WebhookTokenKey = "token"

// WebhookHandler serves POST /webhooks/<namespace>/<name> for the API
// server, without a bearer token: each Source authenticates its own
// webhooks with the "token" of the Secret spec.webhook.secretRef names.
//
// A request is read (at most webhook.DefaultMaxBody, else 413), verified
// (a bad or missing signature is 401 and nothing else happens), dropped
// when its delivery id was seen (200), and acted on: a push to the branch
// or tag the Source follows fetches and syncs it at once (202); a ping or
// another event or branch is answered 200 and ignored. A burst of pushes
// makes one sync of the newest commit. When this server's reconciler is
// not running (another server leads), the push is handed over through the
// Source's requestedAt annotation.
func (c *Controller) WebhookHandler() http.Handler {
	return http.HandlerFunc(c.serveWebhook)
}

// webhookReply is the JSON body of every answer.
type webhookReply struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
}

func (c *Controller) serveWebhook(w http.ResponseWriter, r *http.Request) {
	reply := c.handleWebhook(w, r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(reply.Status)
	_ = json.NewEncoder(w).Encode(reply)
}

func (c *Controller) handleWebhook(w http.ResponseWriter, r *http.Request) webhookReply {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return webhookReply{http.StatusMethodNotAllowed, "webhooks are POST requests"}
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, WebhookPath), "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return webhookReply{http.StatusNotFound, "want " + WebhookPath + "<namespace>/<name>"}
	}
	ns, name := parts[0], parts[1]
	key := SourceKey(ns, name)
	body, err := webhook.ReadBody(w, r, 0)
	if err != nil {
		return webhookReply{webhook.HTTPStatus(err), err.Error()}
	}
	src, secret, err := c.webhookSecret(r.Context(), ns, name)
	if err != nil {
		// Unknown Sources and Sources without a webhook answer as a bad
		// signature does: nothing is said to an unauthenticated caller.
		c.log.Info("webhook refused", "source", key, "error", err)
		return webhookReply{http.StatusUnauthorized, "unauthorized"}
	}
	ev, err := webhook.Verify(r, body, secret)
	if err != nil {
		c.log.Info("webhook refused", "source", key, "error", err)
		if errors.Is(err, webhook.ErrSignature) {
			return webhookReply{http.StatusUnauthorized, "unauthorized"}
		}
		return webhookReply{webhook.HTTPStatus(err), err.Error()}
	}
	if c.dedupe.Seen(key + "/" + ev.DeliveryID) {
		return webhookReply{http.StatusOK, "delivery " + ev.DeliveryID + " already handled"}
	}
	if msg := ignoredEvent(src, ev); msg != "" {
		return webhookReply{http.StatusOK, msg}
	}
	if err := c.requestFetch(r.Context(), ns, name); err != nil {
		return webhookReply{http.StatusServiceUnavailable, err.Error()}
	}
	c.log.Info("webhook push", "source", key, "provider", ev.Provider, "ref", ev.Ref, "commit", ev.After)
	return webhookReply{http.StatusAccepted, "sync of " + key + " requested"}
}

// webhookSecret reads the Source and its webhook token.
func (c *Controller) webhookSecret(ctx context.Context, ns, name string) (*gitopsv1alpha1.Source, []byte, error) {
	var src *gitopsv1alpha1.Source
	if obj, ok, _ := c.informer.GetStore().GetByKey(SourceKey(ns, name)); ok {
		src = obj.(*gitopsv1alpha1.Source)
	} else {
		var err error
		if src, err = c.sources.Get(ctx, ns, name); err != nil {
			return nil, nil, err
		}
	}
	if src.Spec.Webhook == nil {
		return nil, nil, errors.New("the source has no spec.webhook")
	}
	sec, err := c.kube.CoreV1().Secrets(ns).Get(ctx, src.Spec.Webhook.SecretRef.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil, fmt.Errorf("%w: webhook Secret %s/%s not found", ErrSecret, ns, src.Spec.Webhook.SecretRef.Name)
	}
	if err != nil {
		return nil, nil, err
	}
	token := sec.Data[WebhookTokenKey]
	if len(token) == 0 {
		return nil, nil, fmt.Errorf("%w: webhook Secret %s/%s has no %q key", ErrSecret, ns, sec.Name, WebhookTokenKey)
	}
	return src, token, nil
}

// ignoredEvent says why an authenticated event asks for no sync, "" when
// it asks for one.
func ignoredEvent(src *gitopsv1alpha1.Source, ev webhook.Event) string {
	if ev.Type != webhook.Push {
		return fmt.Sprintf("%s event %q ignored", ev.Provider, ev.Name)
	}
	if ev.Deleted() {
		return "push deleting " + ev.Ref + " ignored"
	}
	if ev.Ref == "" || src.Spec.Directory != nil {
		return "" // a bare "sync now", or a directory Source asked to look
	}
	g := src.Spec.Git
	switch {
	case g.Ref.Commit != "":
		return "the source is pinned to commit " + g.Ref.Commit + "; push ignored"
	case g.Ref.Tag != "":
		if ev.Tag() != g.Ref.Tag {
			return "push to " + ev.Ref + " ignored: the source follows tag " + g.Ref.Tag
		}
	default:
		if branch := branchOf(g); ev.Branch() != branch {
			return "push to " + ev.Ref + " ignored: the source follows branch " + branch
		}
	}
	return ""
}

// requestFetch fetches and syncs the Source at once: through this
// server's controller when it runs, else through the requestedAt
// annotation that the leading server's controller watches.
func (c *Controller) requestFetch(ctx context.Context, ns, name string) error {
	if c.Running() {
		c.Trigger(SourceKey(ns, name))
		return nil
	}
	_, err := c.sources.RequestSync(ctx, ns, name, time.Now())
	return err
}
