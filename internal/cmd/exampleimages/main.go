// Command exampleimages writes the example application's images
// (localhost/hello:v1, :v2 and :broken) as OCI archives into a directory,
// one file per image, ready for `navarch image import`:
//
//	go run ./internal/cmd/exampleimages -o DIR
//
// It prints the path of each archive, one a line.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/navarch/navarch/internal/exampleapp"
)

func main() {
	out := flag.String("o", "_output/images", "directory to write the archives to")
	flag.Parse()
	paths, err := exampleapp.WriteArchives(*out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "exampleimages: %v\n", err)
		os.Exit(1)
	}
	for _, p := range paths {
		fmt.Println(p)
	}
}
