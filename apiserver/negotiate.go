package apiserver

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Media types the server reads and writes.
const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
	mediaCBOR     = "application/cbor"

	mediaJSONPatch        = "application/json-patch+json"
	mediaMergePatch       = "application/merge-patch+json"
	mediaStrategicPatch   = "application/strategic-merge-patch+json"
	mediaApplyPatchYAML   = "application/apply-patch+yaml"
	mediaApplyPatchCBOR   = "application/apply-patch+cbor"
	metaGroup             = "meta.k8s.io"
	asTable               = "Table"
	asPartialMetadata     = "PartialObjectMetadata"
	asPartialMetadataList = "PartialObjectMetadataList"
)

// outputKind is the shape a response takes.
type outputKind int

const (
	// outObject is the object itself (or the list).
	outObject outputKind = iota
	// outTable is a meta.k8s.io Table of the object or list, for kubectl get.
	outTable
	// outPartial is PartialObjectMetadata(List): only metadata.
	outPartial
)

// output is a negotiated response format.
type output struct {
	kind outputKind
	// metaVersion is v1 or v1beta1, the meta.k8s.io version a Table or
	// PartialObjectMetadata is answered in.
	metaVersion string
	yaml        bool
	pretty      bool
	// contentType, when set, is the Content-Type of a JSON answer instead
	// of application/json.
	contentType string
	// table holds a Table's options from the query (includeObject; as in
	// Kubernetes, noHeaders is not one): read once, though a watch
	// renders a table per event.
	table metav1.TableOptions
	// protobuf, when set, encodes the answer in Kubernetes' protobuf
	// envelope, which client-go's typed clients prefer: much cheaper to
	// encode and decode than JSON for large lists.
	protobuf runtime.Encoder
}

// acceptedMediaTypes lists what the server answers in, for 406 messages.
var acceptedMediaTypes = []string{mediaJSON, mediaYAML, mediaJSON + ";as=Table;v=v1;g=meta.k8s.io", mediaJSON + ";as=PartialObjectMetadata;v=v1;g=meta.k8s.io"}

type mediaRange struct {
	base   string
	params map[string]string
	q      float64
}

// parseAccept reads an Accept header into media ranges ordered by
// preference (q, then order of appearance). Malformed entries are skipped.
func parseAccept(header string) []mediaRange {
	var out []mediaRange
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		base, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				q = f
			}
		}
		out = append(out, mediaRange{base: base, params: params, q: q})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].q > out[j].q })
	return out
}

// negotiateOutput picks the response format for a request from its Accept
// header. Tables and partial metadata are offered only when reads is true
// (get, list, watch); protobuf only when pb is not nil (kinds with protobuf
// encodings, not watches). It fails with 406 when nothing acceptable is
// served, and with 400 for a Table's options it cannot read.
func negotiateOutput(r *http.Request, reads bool, pb runtime.Encoder) (output, error) {
	out := output{pretty: isTrue(r.URL.Query().Get("pretty"))}
	header := r.Header.Get("Accept")
	if strings.TrimSpace(header) == "" {
		return out, nil
	}
	for _, m := range parseAccept(header) {
		if m.q == 0 {
			continue
		}
		switch m.base {
		case "*/*", "application/*":
			return out, nil
		case mediaYAML:
			out.yaml = true
			return out, nil
		case mediaProtobuf:
			if pb != nil && m.params["as"] == "" {
				out.protobuf = pb
				return out, nil
			}
		case mediaJSON:
			as := m.params["as"]
			if as == "" {
				return out, nil
			}
			v := m.params["v"]
			if !reads || m.params["g"] != metaGroup || (v != "v1" && v != "v1beta1") {
				continue
			}
			switch as {
			case asTable:
				q := r.URL.Query()
				if err := metav1.Convert_url_Values_To_v1_TableOptions(&q, &out.table, nil); err != nil {
					return out, apierrors.NewBadRequest(err.Error())
				}
				out.kind, out.metaVersion = outTable, v
				return out, nil
			case asPartialMetadata, asPartialMetadataList:
				out.kind, out.metaVersion = outPartial, v
				return out, nil
			}
		}
	}
	return out, errNotAcceptable(acceptedMediaTypes...)
}

// writeJSON writes v as the response body in JSON (or YAML when the
// request's Accept says so), with the status code given.
func writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	var out output
	if r != nil {
		o, _ := negotiateOutput(r, false, nil) // nothing acceptable: JSON
		out.pretty, out.yaml = o.pretty, o.yaml
	}
	writeBody(w, out, code, v)
}

// writeBody encodes v in the negotiated format. Encoding errors after the
// header is sent can only be logged by the caller's access log (status
// already written), so they are dropped here.
func writeBody(w http.ResponseWriter, out output, code int, v any) {
	var data []byte
	var err error
	obj, isObject := v.(runtime.Object)
	switch {
	case out.protobuf != nil && isObject:
		var buf bytes.Buffer
		err = out.protobuf.Encode(obj, &buf)
		data = buf.Bytes()
		w.Header().Set("Content-Type", mediaProtobuf)
	case out.yaml:
		data, err = yaml.Marshal(v)
		w.Header().Set("Content-Type", mediaYAML)
	case out.pretty:
		data, err = json.MarshalIndent(v, "", "  ")
		data = append(data, '\n')
		w.Header().Set("Content-Type", out.jsonContentType())
	default:
		data, err = json.Marshal(v)
		data = append(data, '\n')
		w.Header().Set("Content-Type", out.jsonContentType())
	}
	if err != nil {
		w.Header().Set("Content-Type", mediaJSON)
		w.Header().Del("Content-Length")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"encode response: ` + jsonEscape(err.Error()) + `","reason":"InternalError","code":500}` + "\n"))
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func (o output) jsonContentType() string {
	if o.contentType != "" {
		return o.contentType
	}
	return mediaJSON
}
