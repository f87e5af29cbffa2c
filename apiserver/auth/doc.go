// Package auth holds the API server's security pieces: its PKI, its bearer
// tokens, who a request comes from (authentication), what that identity may
// do (authorization), and the kubeconfig the server writes for its admin.
//
// PKI. EnsurePKI creates, at first start, a CA (ECDSA P-256, ten years) and a
// serving certificate it signs for 127.0.0.1, ::1, localhost and the hosts
// the caller names, as ca.crt, ca.key, server.crt and server.key in a
// directory (keys mode 0600). Later starts reuse them; only the serving
// certificate is reissued, when a requested host is missing from it or it
// expires within 30 days. PKI.TLSConfig serves TLS 1.2 and newer.
// PKI.IssueClientCertificate signs a client certificate in memory (the API
// server's identity towards kubelets).
//
// Tokens. EnsureAdminToken keeps the admin's token in a file of its own.
// Other identities live in a tokens file in Kubernetes' static token format,
// one per line:
//
//	token,user,uid,"group1,group2"
//
// LoadTokenFile reads it; NewNodeToken appends a node identity
// (user system:node:<name>, group system:nodes) and is what
// `navarch token create --node <name>` calls. The file is
// <data-dir>/tokens.csv by convention; the Authenticator re-reads it when it
// changes, so a token appended while the server runs works at once.
//
// Authentication. Authenticator.AuthenticateRequest maps
// "Authorization: Bearer <token>" to a User. Tokens are compared in constant
// time.
//
// Authorization. Authorize decides from the user's groups and the request's
// Attributes:
//
//   - group system:masters (the admin) may do everything;
//   - group navarch:view may get, list and watch everything but Secrets,
//     and may not exec, attach or port-forward into pods (as Kubernetes'
//     view role);
//   - nodes (user system:node:<n>, group system:nodes) may read what a
//     kubelet and proxy read (pods, services, endpoints, endpointslices,
//     configmaps, secrets, nodes, namespaces, their own Lease), create,
//     update and patch their own Node and its status and their own Lease in
//     kube-node-lease, update and patch pods/status and delete pods, and
//     create, update and patch events;
//   - any authenticated user may read the discovery, version, OpenAPI and
//     health paths;
//   - everything else is denied. ForbiddenError gives the 403 Status with
//     Kubernetes' message.
//
// What the REST core must check itself. Authorize sees only the request
// line, not objects. For a node's pods/status update or patch and for a
// node's pod delete, the core must load the stored pod and call
// CheckPodBinding, which refuses unless the pod's spec.nodeName is that node
// (an unbound pod belongs to no node). The core answers 401 when
// AuthenticateRequest fails and 403 with ForbiddenError when Authorize
// refuses.
//
// Kubeconfig. WriteKubeconfig writes a client configuration (cluster, user
// and context "navarch") with file mode 0600.
package auth
