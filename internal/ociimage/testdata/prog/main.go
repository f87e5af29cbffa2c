// Command prog prints the value linked into main.word.
package main

import "fmt"

var word = "unset"

func main() { fmt.Println(word) }
