package main

import (
	"os"
	"testing"

	"github.com/navarch/navarch/internal/kubectltest"
)

func TestMain(m *testing.M) { os.Exit(kubectltest.Main(m)) }
