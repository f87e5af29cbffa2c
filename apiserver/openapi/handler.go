package openapi

import (
	"bytes"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DiscoveryPath is where the index of documents is served; each document is
// served under it.
const DiscoveryPath = "/openapi/v3"

type servedDoc struct {
	data []byte
	hash string
}

// handler serves the discovery index and the documents.
type handler struct {
	docs      map[string]servedDoc
	discovery []byte
	discHash  string
	modTime   time.Time
}

// Handler serves docs (as returned by Documents) the way kube-apiserver
// does:
//
//   - GET /openapi/v3 is the index: {"paths": {"api/v1": {"serverRelativeURL":
//     "/openapi/v3/api/v1?hash=<sha512>"}, …}}.
//   - GET /openapi/v3/<path> is a document as JSON, with an ETag. With a
//     hash query equal to the document's hash the answer may be cached for
//     good (Cache-Control: public, immutable; Expires a year ahead); with a
//     stale hash it redirects (301) to the current URL.
//
// Only JSON is served; a request accepting nothing but protobuf gets 406.
// Unknown documents are 404. Mount it at /openapi/v3 and /openapi/v3/. The
// documents must not change once the handler is built.
func Handler(docs map[string][]byte) http.Handler {
	h := &handler{docs: make(map[string]servedDoc, len(docs)), modTime: time.Now()}
	index := struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}{Paths: map[string]struct {
		ServerRelativeURL string `json:"serverRelativeURL"`
	}{}}
	for path, data := range docs {
		d := servedDoc{data: data, hash: hashOf(data)}
		h.docs[path] = d
		e := index.Paths[path]
		e.ServerRelativeURL = relativeURL(path, d.hash)
		index.Paths[path] = e
	}
	h.discovery, _ = json.Marshal(index) // a map of strings always encodes
	h.discHash = hashOf(h.discovery)
	return h
}

// hashOf is kube-apiserver's document hash: SHA-512, upper-case hex.
func hashOf(data []byte) string {
	return fmt.Sprintf("%X", sha512.Sum512(data))
}

func relativeURL(path, hash string) string {
	return DiscoveryPath + "/" + path + "?" + url.Values{"hash": {hash}}.Encode()
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path == DiscoveryPath {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Etag", strconv.Quote(h.discHash))
		http.ServeContent(w, r, "", h.modTime, bytes.NewReader(h.discovery))
		return
	}
	name, ok := strings.CutPrefix(path, DiscoveryPath+"/")
	doc, found := h.docs[name]
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Add("Vary", "Accept")
	if !acceptsJSON(r.Header.Get("Accept")) {
		http.Error(w, "only application/json is served", http.StatusNotAcceptable)
		return
	}
	if hash := r.URL.Query().Get("hash"); hash != "" {
		if hash != doc.hash {
			http.Redirect(w, r, relativeURL(name, doc.hash), http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Cache-Control", "public, immutable")
		w.Header().Set("Expires", time.Now().AddDate(1, 0, 0).UTC().Format(http.TimeFormat))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Etag", strconv.Quote(doc.hash))
	http.ServeContent(w, r, "", h.modTime, bytes.NewReader(doc.data))
}

// acceptsJSON reports whether an Accept header admits application/json (an
// empty header admits anything).
func acceptsJSON(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, clause := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(clause))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue
			}
		}
		switch mt {
		case "application/json", "application/*", "*/*":
			return true
		}
	}
	return false
}
