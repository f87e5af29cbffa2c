// Package kubectli18n keeps kubectl's message catalog from being loaded
// when it would translate every message to itself.
//
// The kubectl commands built into navarch translate their help texts with
// k8s.io/kubectl/pkg/util/i18n, and many of kubectl's package-level
// variables call i18n.T while the program initializes. The first call
// loads a catalog: for an unset, C or en_US locale, kubectl's "default"
// catalog, whose every translation is its own message. Parsing it cost
// every navarch process — each client command, the server and the node
// agent alike — about 4 MB of allocations, 0.4 MB of heap kept for the
// process's life, and 15-20 ms of start-up.
//
// Importing this package for its side effect (package main does) installs
// a loader that loads nothing for those locales and kubectl's own catalog
// for every other one, so a German or Japanese locale still gets kubectl's
// translations. The loader must be in place before the first i18n.T call:
// Go initializes, among the packages whose imports are all initialized, the
// one first in import-path order, and this package imports only i18n and
// the standard library and sorts before every k8s.io package, so its init
// runs right after i18n's, before any kubectl package can call i18n.T.
package kubectli18n
