#!/usr/bin/env bash
# The quickstart behind `make run`: navarch on this machine, following a
# Git repository of the example application, with a push hook that syncs
# every push at once. Run it again to start where it stopped.
#
#   hack/run.sh [navarch up flags…]
#
# NAVARCH is the binary (default bin/navarch); NAVARCH_DATA_DIR the data dir
# (default ~/.navarch). Every `navarch up` setting may also come from its
# NAVARCH_… variable or <data-dir>/config.yaml.
#
# It builds the example images (localhost/hello:v1, :v2, :broken), creates
# <data-dir>/quickstart/hello.git from examples-repo/ with the image filled
# in, installs the repository's post-receive hook, starts `navarch up`,
# imports the images into its containerd, creates the Source "hello" (with
# a webhook Secret) and waits for the application, then prints the next
# steps and stays in the foreground until Ctrl-C.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
navarch=${NAVARCH:-$root/bin/navarch}
data=${NAVARCH_DATA_DIR:-$HOME/.navarch}
export NAVARCH_DATA_DIR=$data
# Clients below talk to this navarch, whatever KUBECONFIG the caller has.
export KUBECONFIG=$data/kubeconfig
quick=$data/quickstart
repo=$quick/hello.git
images=$quick/images
source=hello

say() { printf 'quickstart: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

for tool in git go curl openssl; do
	command -v "$tool" >/dev/null || die "needs $tool on PATH ('make deps' installs what it can)"
done
[ -x "$navarch" ] || die "no navarch binary at $navarch ('make build' makes one)"
mkdir -p "$quick"
chmod 700 "$quick"

say "building the example images into $images"
(cd "$root" && go run ./internal/cmd/exampleimages -o "$images" >/dev/null)

# The repository: examples-repo/ as its first commit, the image placeholder
# replaced by the images just built.
if [ ! -d "$repo" ]; then
	say "creating the Git repository $repo from examples-repo/"
	work=$(mktemp -d)
	cp -R "$root/examples-repo/." "$work/"
	find "$work" -name '*.yaml' -exec sed -i 's#navarch\.local/hello:#localhost/hello:#g' {} +
	git -C "$work" init -q -b main
	git -C "$work" add -A
	git -C "$work" -c user.name=navarch -c user.email=quickstart@navarch.invalid \
		commit -q -m "The hello example application"
	git init -q --bare -b main "$repo.tmp"
	git -C "$work" push -q "$repo.tmp" main
	mv "$repo.tmp" "$repo"
	rm -rf "$work"
fi

# The webhook's shared secret, made once.
if [ ! -s "$quick/webhook.token" ]; then
	(umask 077 && openssl rand -hex 32 >"$quick/webhook.token")
fi

# The post-receive hook posts each push to navarch as a Git host's webhook
# would: a generic JSON body signed with HMAC-SHA256 of the shared secret.
cat >"$repo/hooks/post-receive" <<HOOK
#!/bin/sh
# Written by navarch's quickstart (hack/run.sh): tell navarch about a push.
data='$data'
server=\$(sed -n 's/^ *server: *//p' "\$data/kubeconfig" | head -n 1)
url="\$server/webhooks/navarch-system/$source"
secret=\$(cat "\$data/quickstart/webhook.token")
while read -r old new ref; do
	body=\$(printf '{"ref":"%s","before":"%s","after":"%s"}' "\$ref" "\$old" "\$new")
	sig=\$(printf '%s' "\$body" | openssl dgst -sha256 -hmac "\$secret" -r | cut -d' ' -f1)
	id=\$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')
	if curl -fsS --max-time 10 --cacert "\$data/pki/ca.crt" -o /dev/null \\
		-H 'Content-Type: application/json' -H "X-Signature: sha256=\$sig" \\
		-H "X-Delivery-ID: \$id" --data "\$body" "\$url"; then
		echo "navarch: sync of \$ref requested"
	else
		echo "navarch: the webhook at \$url failed; the Source syncs at its next poll" >&2
	fi
done
HOOK
chmod 755 "$repo/hooks/post-receive"

# Its own session: Ctrl-C reaches this script only, which stops navarch
# with one SIGTERM (a second signal would end it at once).
setsid "$navarch" up "$@" &
up=$!
say "started navarch up, pid $up, data dir $data"
stop() {
	trap - INT TERM EXIT
	kill -TERM "$up" 2>/dev/null || true
	wait "$up" 2>/dev/null
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'status=$?; [ $status -eq 0 ] || stop; exit $status' EXIT

# wait_for DESCRIPTION SECONDS COMMAND…: retry COMMAND until it succeeds.
wait_for() {
	local what=$1 deadline=$((SECONDS + $2))
	shift 2
	until "$@" >/dev/null 2>&1; do
		kill -0 "$up" 2>/dev/null || die "navarch up exited while waiting for $what"
		[ "$SECONDS" -lt "$deadline" ] || die "gave up waiting for $what; '$*' still fails"
		sleep 0.3
	done
}
node_listed() { "$navarch" get nodes -o name 2>/dev/null | grep -q .; }
wait_for "the API server and this machine's node" 120 node_listed
wait_for "the node to be Ready" 120 "$navarch" kubectl wait --for=condition=Ready nodes --all --timeout=5s

say "importing the example images"
for tar in "$images"/hello-*.tar; do
	"$navarch" image import "$tar" >/dev/null
done

say "creating the Source $source (navarch-system) following $repo"
"$navarch" apply -f - >/dev/null <<SOURCE
apiVersion: v1
kind: Secret
metadata: {name: $source-webhook, namespace: navarch-system}
stringData: {token: "$(cat "$quick/webhook.token")"}
---
apiVersion: gitops.navarch.dev/v1alpha1
kind: Source
metadata: {name: $source, namespace: navarch-system}
spec:
  git: {url: "file://$repo", ref: {branch: main}}
  path: apps
  interval: 1m
  prune: true
  webhook: {secretRef: {name: $source-webhook}}
SOURCE
"$navarch" sync "$source" --wait --timeout 3m

hints=""
[ "$(command -v navarch)" = "$navarch" ] || hints="
  export PATH=$(dirname "$navarch"):\$PATH"
[ "$data" = "$HOME/.navarch" ] || hints="$hints
  export NAVARCH_DATA_DIR=$data KUBECONFIG=$data/kubeconfig"
cat <<NEXT

navarch is running the example application from $repo.
In another terminal:
$hints
  git clone $repo hello && cd hello
  sed -i 's#hello:v1#hello:v2#' apps/*/deployment.yaml    # a new release
  git commit -am "Release v2" && git push                 # the hook syncs it at once
  navarch get pods -n hello -w                            # the rolling update
  curl http://\$(navarch get svc web -n hello -o jsonpath='{.spec.clusterIP}')/
  navarch history $source                                   # what was applied, commit to ready
  navarch rollback $source                                  # commit the previous revision back

Try the image tag 'broken' to see a rollout stall, and 'navarch get sources -A'.
Ctrl-C stops navarch (its pods keep running); 'make run' starts it again
where it was; after Ctrl-C, 'navarch reset --remove-data' removes it all.
NEXT
say "ready"
wait "$up"
