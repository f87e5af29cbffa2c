// Package proxy is navarch's per-node Service proxy: it sends traffic for a
// Service's cluster IP, external IPs and NodePorts to the Service's ready
// endpoints, programmed in nftables the way kube-proxy's nftables mode
// does it. One runs on every node, inside `navarch up` and `navarch agent`.
//
// # Shape
//
// A pure core and two thin shells:
//
//   - Renderer (render.go, base.go, endpoints.go) turns Services and
//     EndpointSlices into a Ruleset, the complete content of one nftables
//     table. It does no I/O, reads no clock and is deterministic; golden
//     files under testdata/ hold its output for each kind of Service
//     (go test ./proxy -run TestRender -update rewrites them).
//   - Applier (applier.go, transaction.go) writes Rulesets into the table
//     through sigs.k8s.io/knftables, which runs the nft binary
//     (/usr/sbin/nft, Debian's nftables). Every write is one nft
//     transaction: atomic, so a packet sees the old rules or the new ones.
//   - Proxier (proxier.go) watches Services and EndpointSlices through the
//     API server with client-go informers and runs Renderer and Applier on
//     every change.
//
// # The table
//
// One table of family ip, named by Options.TableName (default "navarch"),
// owned entirely by the proxy: it is replaced whole at start and nothing
// else should write to it. Its fixed part:
//
//	nat-prerouting, nat-output   (nat, priority -100)  jump services
//	services                     ip daddr . meta l4proto . th dport vmap @service-ips
//	                             ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
//	nat-output                   also 127.0.0.1 . proto . port → @service-nodeports (this host only)
//	nat-postrouting (priority 100) jump masquerading: packets marked 0x4000, and a pod reaching
//	                             itself (ip saddr . ip daddr in @hairpin-endpoints), are masqueraded
//	filter-input/forward/output (priority -110) jump endpoints-check: @no-endpoint-services and
//	                             @no-endpoint-nodeports send Services without endpoints to reject-chain
//	filter-input/forward, filter-output-post-dnat (priority -90) jump cluster-ips-check:
//	                             a cluster IP on a port it does not serve is rejected; an address
//	                             of the Service CIDR that no Service holds is dropped
//
// and for each Service port with endpoints (named, as in kube-proxy, with
// a hash and namespace/name/protocol/port so that `nft list table ip
// navarch` reads well):
//
//	service-ips element   <cluster IP> . tcp . <port> : goto service-<…>
//	service-<…>           ip daddr <cluster IP> tcp dport <port> ip saddr != <cluster CIDR> jump mark-for-masquerade
//	                      meta l4proto tcp dnat ip addr . port to numgen random mod N map { 0 : <a> . <port>, 1 : <b> . <port>, … }
//	                      (one endpoint: meta l4proto tcp dnat to <a>:<port>)
//	external-<…>          jump mark-for-masquerade; goto service-<…>
//	                      (reached from @service-nodeports for a NodePort, and from
//	                      @service-ips for each external IP)
//	cluster-ips element   <cluster IP>
//	hairpin-endpoints     <endpoint> . <endpoint>, for each endpoint
//
// Unlike kube-proxy's nftables mode, a Service port has one chain, not one
// more per endpoint: the service chain picks the endpoint and rewrites the
// destination itself. With 1,000 Services of 10 endpoints that is 1,013
// chains instead of 11,013, and it matters: the nft binary lists every
// chain of the table before it runs any transaction that adds a rule or a
// map element, which costs tens of milliseconds per transaction at 11,000
// chains, and a full sync writes the table two to three times faster. A Service
// with ClientIP session affinity keeps kube-proxy's shape (below), since
// its affinity sets are updated by the endpoint that was chosen:
//
//	service-<…>           ip daddr … jump mark-for-masquerade (as above)
//	                      ip saddr @affinity-<ep> goto endpoint-<ep>   for each endpoint
//	                      numgen random mod N vmap { 0 : goto endpoint-<a>, 1 : goto endpoint-<b>, … }
//	endpoint-<…>          update @affinity-<ep> { ip saddr }
//	                      meta l4proto tcp dnat to <endpoint>:<port>
//
// A Service port without endpoints has no chains: its cluster IP, external
// IPs and NodePort are elements of the no-endpoint maps, whose verdict is
// goto reject-chain (reject, ICMP port unreachable: clients see
// "connection refused" at once, as with kube-proxy).
//
// Load balancing is numgen random over the endpoints, each with the same
// chance. ClientIP session affinity is kube-proxy's: one set per endpoint,
// of type ipv4_addr with the Service's timeout (default 3 hours), which
// the endpoint chain updates with the client's address and the service
// chain checks first.
//
// Masquerading: traffic to a cluster IP from outside Options.ClusterCIDR
// (the host itself, other hosts; everything when ClusterCIDR is empty),
// all NodePort and external IP traffic, and a pod reaching itself through
// its Service are masqueraded, so that replies come back through this
// node. Pods reaching a cluster IP keep their source address. A pod
// reaching itself is recognised after DNAT, in postrouting, by its source
// and destination being one endpoint's address (the hairpin-endpoints
// set; an endpoint of several Services is listed once, by the first of
// them by name). The pod network's bridge must have hairpin mode on its
// ports (the kubelet's CNI configuration sets hairpinMode) for a pod to
// reach itself.
//
// # Which endpoints
//
// The ready endpoints of the Service's EndpointSlices (conditions.ready
// true or unset), matched to a Service port by port name and protocol; an
// endpoint listed twice counts once. Only when a port has no ready
// endpoint at all does it use the endpoints that are serving while
// terminating, as kube-proxy does, so that the last pods of a rollout keep
// answering until they are gone. internalTrafficPolicy Local keeps only
// this node's endpoints; with none, the Service rejects. Only IPv4
// EndpointSlices count.
//
// Services another proxy handles (label service.kubernetes.io/service-proxy-name),
// headless and ExternalName Services, and Services with an IPv6 cluster IP
// get no rules.
//
// # The host
//
// Before any rule, Run makes the Service CIDR a local route (`ip route
// replace local <service CIDR> dev lo table local`): a packet for a
// Service address never leaves the machine, even when a rule is missing
// (traffic to an address no Service holds is then dropped by
// cluster-ips-check). It also sets net.ipv4.conf.all.route_localnet=1,
// which NodePorts on 127.0.0.1 need: without it the kernel refuses to send
// a packet from 127.0.0.1 anywhere else after DNAT. Since route_localnet
// would also accept packets for 127.0.0.0/8 from other hosts,
// filter-input drops those (new connections arriving on any interface but
// lo), as kube-proxy does. The sysctl is left set after Cleanup. The
// route uses the ip command (iproute2).
//
// # Syncing
//
// Chains and sets of Services are content-addressed: the hash in their
// name covers their rules (or timeout), so a chain of a given name always
// holds the same rules and a chain whose rules change gets a new name.
//
// The first sync after the informers have listed everything is a full
// one. When the table exists (the proxy restarted), it is adopted: the
// fixed chains are flushed and written again, the maps and fixed sets
// flushed and filled again, the Service chains and affinity sets it holds
// already are left as they are (affinity entries survive a restart), and
// only the missing ones are created. When there is no table, or nft
// refuses the adoption (a fixed object defined differently, by another
// version), the table is replaced: deleted and written anew in the same
// transaction.
//
// Later syncs are incremental: the Renderer renders again only the
// Services whose Service or EndpointSlice objects changed (informers
// replace objects on change, so pointer identity tells), the Applier
// compares the new Ruleset with the one it applied last, Service by
// Service, and writes only the difference: map and set elements deleted
// and added, new chains and sets created (changed ones are new ones, by
// their names). Chains and sets that leave the ruleset are unreferenced
// once the transaction commits; a later sync, at least a second later,
// flushes and deletes them (kernels before 6.2 refuse to delete a chain
// that a map element removed in the previous transaction referred to;
// kube-proxy waits the same way), and the Proxier schedules that sync.
// Changes are coalesced: no two syncs start closer than
// Options.MinSyncInterval (20ms). A failed sync is retried after a second
// as a full one. Every Options.SyncPeriod (30s) the proxy checks, over
// netlink, that the table still holds the chains, sets and maps it wrote
// (names only: rules changed by hand inside a chain go unnoticed) and
// syncs fully when it does not.
//
// When Run returns, the rules stay: traffic keeps flowing while the proxy
// restarts. Cleanup(ctx, table, serviceCIDR) — `navarch agent --cleanup` —
// deletes the table and the Service CIDR's route.
//
// Measured with 1,000 Services of 10 endpoints each (1,013 chains, 2,023
// rules, 10,000 hairpin elements; BenchmarkSync,
// BenchmarkEndpointSliceChangeToRules; figures in docs/benchmarks.md): a
// sync after one EndpointSlice change takes about 25ms, most of it the nft
// binary starting and listing the table's chains; adopting the table after
// a restart about 150ms; writing it into no table, or replacing it, about
// 0.4s.
//
// # Not done
//
// externalTrafficPolicy Local is treated as Cluster (traffic is balanced
// over all endpoints and masqueraded, so the client's address is not
// kept); LoadBalancer ingress IPs get no rules (there is no load-balancer
// controller); stale UDP conntrack entries are not cleared when endpoints
// change (a UDP flow may keep reaching a removed endpoint until its
// conntrack entry expires); IPv6 is not proxied. DNS is not part of the
// proxy: containers find Services through ServiceEnvironment's variables.
//
// # Callers
//
// cmd/navarch builds a Proxier from config and runs it next to the
// kubelet in navarch up and navarch agent, with the server's Service CIDR,
// ClusterCIDR the pod network and NodeIPs --proxy-node-ips or --node-ip
// (when neither is given, the proxy follows the InternalIP addresses the
// kubelet reports on the Node); `navarch agent --cleanup` calls Cleanup.
// The kubelet calls ServiceEnvironment for every container it starts.
package proxy
