package git_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/navarch/navarch/sources/git"
)

func TestCredentialsFromSecretDataReadsTheKnownKeys(t *testing.T) {
	got := git.CredentialsFromSecretData(map[string][]byte{
		"username":    []byte("deploy"),
		"password":    []byte("token"),
		"identity":    []byte("KEY"),
		"known_hosts": []byte("HOSTS"),
		"other":       []byte("ignored"),
	})
	want := git.Credentials{Username: "deploy", Password: "token", SSHPrivateKey: []byte("KEY"), KnownHosts: []byte("HOSTS")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if git.CredentialsFromSecretData(nil).IsZero() != true {
		t.Fatal("got non-zero credentials from no data, want zero")
	}
}

func TestCredentialsNeverPrintTheirSecrets(t *testing.T) {
	c := git.Credentials{Username: "deploy", Password: "pa55word", SSHPrivateKey: []byte("-----BEGIN KEY-----")}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, c)
		if strings.Contains(out, "pa55word") || strings.Contains(out, "BEGIN KEY") {
			t.Errorf("%s: got %q, which reveals a secret", format, out)
		}
	}
}
