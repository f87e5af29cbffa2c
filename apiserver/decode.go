package apiserver

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	serializerjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// decoders reads request bodies: JSON or YAML, strict (reporting unknown
// and duplicate fields) or not.
type decoders struct {
	json, yaml, strictJSON, strictYAML runtime.Decoder
	// protobuf reads Kubernetes' protobuf envelope, which client-go's
	// typed clients send for built-in kinds unless told otherwise.
	protobuf runtime.Decoder
}

func newDecoders(scheme *runtime.Scheme) *decoders {
	mk := func(yaml, strict bool) runtime.Decoder {
		return serializerjson.NewSerializerWithOptions(serializerjson.DefaultMetaFactory, scheme, scheme,
			serializerjson.SerializerOptions{Yaml: yaml, Strict: strict})
	}
	return &decoders{
		json: mk(false, false), yaml: mk(true, false), strictJSON: mk(false, true), strictYAML: mk(true, true),
		protobuf: protobuf.NewSerializer(scheme, scheme),
	}
}

// fieldValidation returns the request's fieldValidation directive; the
// server's default, as Kubernetes', is Warn.
func fieldValidation(r *http.Request) (string, error) {
	switch v := r.URL.Query().Get("fieldValidation"); v {
	case "":
		return metav1.FieldValidationWarn, nil
	case metav1.FieldValidationIgnore, metav1.FieldValidationWarn, metav1.FieldValidationStrict:
		return v, nil
	default:
		return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation: Unsupported value: %q: supported values: %q, %q, %q",
			v, metav1.FieldValidationIgnore, metav1.FieldValidationStrict, metav1.FieldValidationWarn))
	}
}

// readBody reads the request body, at most limit bytes; a larger body is a
// 413.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge(limit)
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, errTooLarge(limit)
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("read request body: %v", err))
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge(limit)
	}
	return data, nil
}

func errTooLarge(limit int64) error {
	return apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", limit))
}

// bodyMediaType returns the base media type of the request body.
func bodyMediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return mediaJSON
	}
	base, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.TrimSpace(strings.SplitN(ct, ";", 2)[0])
	}
	return base
}

// decodeObject decodes a request body of JSON or YAML into into, which must
// be of kind gvk (the body may leave apiVersion and kind out). Unknown and
// duplicate fields are refused (Strict), reported as warnings (Warn), or
// ignored, as directive says.
func (d *decoders) decodeObject(w *warnings, mediaType string, body []byte, gvk schema.GroupVersionKind, into runtime.Object, directive string) error {
	dec, err := d.forMediaType(mediaType, directive != metav1.FieldValidationIgnore)
	if err != nil {
		return err
	}
	obj, actual, err := dec.Decode(body, &gvk, into)
	if err != nil {
		strictErr, isStrict := runtime.AsStrictDecodingError(err)
		switch {
		case isStrict && obj != nil && directive == metav1.FieldValidationWarn:
			for _, e := range strictErr.Errors() {
				w.add(e.Error())
			}
		case isStrict && obj != nil && directive == metav1.FieldValidationIgnore:
		default:
			return decodeError(err, actual, gvk.Kind, body)
		}
	}
	if actual != nil && actual.GroupVersion() != gvk.GroupVersion() {
		return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", actual.GroupVersion(), gvk.GroupVersion()))
	}
	if obj != into || (actual != nil && actual.Kind != gvk.Kind) {
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: the kind of the data does not match the request", actual.Kind, actual.Version, gvk.Kind))
	}
	return nil
}

// forMediaType returns the decoder of a body's media type, strict
// (reporting unknown and duplicate fields) or not; 415 for a type the
// server does not read.
func (d *decoders) forMediaType(mediaType string, strict bool) (runtime.Decoder, error) {
	switch mediaType {
	case mediaJSON:
		if strict {
			return d.strictJSON, nil
		}
		return d.json, nil
	case mediaYAML, "application/x-yaml", "text/yaml":
		if strict {
			return d.strictYAML, nil
		}
		return d.yaml, nil
	case mediaProtobuf:
		return d.protobuf, nil
	}
	return nil, errUnsupportedMediaType(mediaType, mediaJSON, mediaYAML, mediaProtobuf)
}

// decodeError words a decoding failure as Kubernetes does.
func decodeError(err error, actual *schema.GroupVersionKind, kind string, body []byte) error {
	if actual != nil && actual.Kind != "" {
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", actual.Kind, actual.Version, kind, err))
	}
	return apierrors.NewBadRequest(fmt.Sprintf("the object provided is unrecognized (must be of type %s): %v (%s)", kind, err, summarize(body, 30)))
}

func summarize(data []byte, max int) string {
	if len(data) <= max {
		return string(data)
	}
	s := data[:max]
	for !utf8.Valid(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return string(s) + " ..."
}

// warnings collects the Warning headers of a response.
type warnings struct {
	msgs []string
}

func (w *warnings) add(msg string) {
	for _, m := range w.msgs {
		if m == msg {
			return
		}
	}
	w.msgs = append(w.msgs, msg)
}

// write sets the Warning headers; call before the status is written.
func (w *warnings) write(h http.Header) {
	for _, m := range w.msgs {
		if v, err := utilnet.NewWarningHeader(299, "-", m); err == nil {
			h.Add("Warning", v)
		}
	}
}

// decodeOptions decodes an options object (DeleteOptions) of any
// group-version from a JSON, YAML or protobuf body.
func (d *decoders) decodeOptions(mediaType string, body []byte, gvk schema.GroupVersionKind, into runtime.Object) error {
	dec, err := d.forMediaType(mediaType, false)
	if err != nil {
		return err
	}
	obj, _, err := dec.Decode(body, &gvk, into)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("decode %s: %v", gvk.Kind, err))
	}
	if obj != into {
		return apierrors.NewBadRequest(fmt.Sprintf("the body is not a %s", gvk.Kind))
	}
	return nil
}
