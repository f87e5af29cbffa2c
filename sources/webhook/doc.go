// Package webhook authenticates push notifications from Git hosts, so that
// a push syncs its Source at once instead of at the next poll.
//
// The API server serves POST /webhooks/<namespace>/<name> without a bearer
// token and, for each request:
//
//  1. reads the body with ReadBody (at most DefaultMaxBody bytes; more is
//     ErrTooLarge → 413);
//  2. calls Verify with the Source's webhook secret (the "token" key of the
//     Secret named by spec.webhook.secretRef). Verify recognises the sender
//     by its headers, checks the signature in constant time and parses the
//     payload into an Event. A bad or missing signature is ErrSignature
//     (→ 401, and nothing else happens); an unknown sender or an unreadable
//     payload is ErrUnsupported (→ 400). HTTPStatus maps these errors;
//  3. drops a delivery whose id it has seen, with a Deduper keyed by
//     "<namespace>/<name>/<delivery id>", only after Verify succeeded, so
//     that forged requests cannot fill it;
//  4. for an Event of Type Push whose Branch (or Tag) is the one the Source
//     follows, asks for a fetch and sync of the Source (the reconciler's
//     workqueue makes a burst of pushes one sync of the newest commit). A
//     Ping is answered 200 and otherwise ignored.
//
// The reconciler's WebhookHandler is that flow; its tests send each
// host's real payloads through the API server.
//
// Senders and what authenticates them:
//
//	GitHub          X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>
//	                X-GitHub-Event: push | ping | …, X-GitHub-Delivery
//	GitLab          X-Gitlab-Token: <the secret itself>
//	                X-Gitlab-Event: Push Hook | Tag Push Hook | …,
//	                Idempotency-Key or X-Gitlab-Event-UUID
//	Gitea, Forgejo  X-Gitea-Signature / X-Forgejo-Signature: <hex HMAC-SHA256>
//	                X-Gitea-Event / X-Forgejo-Event, X-Gitea-Delivery / X-Forgejo-Delivery
//	generic         X-Signature: sha256=<hex HMAC-SHA256>, optional
//	                X-Delivery-ID; the body may be {"ref": …, "after": …}
//
// Gitea and Forgejo also send GitHub's headers; their own headers win.
// GitHub's SHA-1 X-Hub-Signature alone is refused (ErrUnsupported).
package webhook
