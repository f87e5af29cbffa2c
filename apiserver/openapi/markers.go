package openapi

// typeMarkers is what the API types' comments say about a named type and
// its fields (keyed by JSON name): the +listType, +listMapKey, +mapType and
// +structType markers, the required fields, and a description for types
// without generated SwaggerDoc methods. The data is generated into
// zz_generated.markers.go by the tests (go test -run TestGeneratedMarkers
// -update).
type typeMarkers struct {
	ListType    string
	ListMapKeys []string
	MapType     string
	StructType  string
	Description string
	// Struct is true for struct types, whose Required list is then
	// authoritative.
	Struct   bool
	Required []string
	Fields   map[string]fieldMarkers
}

type fieldMarkers struct {
	ListType    string
	ListMapKeys []string
	MapType     string
	StructType  string
	Description string
}
