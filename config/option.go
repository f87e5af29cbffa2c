package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// EnvPrefix starts the name of every environment variable navarch reads.
const EnvPrefix = "NAVARCH_"

// Option is one setting reachable by config file, environment and flag.
type Option struct {
	// Key is the setting's path in the config file, dot-separated:
	// "server.etcd.endpoints".
	Key string
	// Flag is the command-line flag's name ("etcd-endpoints"); the
	// environment variable is derived from it (Env).
	Flag string
	// Short is an optional one-letter flag shorthand.
	Short string
	// Usage is the flag's help text.
	Usage string
	// Default is the value when no layer sets one. Its type selects the
	// flag's type: string, bool, int, int64, time.Duration or []string.
	Default any
}

// Env returns the environment variable that sets o: EnvPrefix and the flag
// name in upper case, dashes replaced by underscores.
func (o Option) Env() string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(o.Flag, "-", "_"))
}

// Options returns every option navarch knows, global ones first.
func Options() []Option {
	var all []Option
	all = append(all, GlobalOptions()...)
	all = append(all, ServerOptions()...)
	all = append(all, GitOpsOptions()...)
	all = append(all, ControllerOptions()...)
	all = append(all, AgentOptions()...)
	all = append(all, AgentJoinOptions()...)
	all = append(all, ProxyOptions()...)
	return all
}

// AddFlags registers a flag for each option on fs, with the option's
// default and its environment variable in the help text. It panics on an
// option whose Default has an unsupported type, which is a programming
// error caught by this package's tests.
func AddFlags(fs *pflag.FlagSet, opts ...Option) {
	for _, o := range opts {
		usage := fmt.Sprintf("%s [$%s]", o.Usage, o.Env())
		switch d := o.Default.(type) {
		case string:
			fs.StringP(o.Flag, o.Short, d, usage)
		case bool:
			fs.BoolP(o.Flag, o.Short, d, usage)
		case int:
			fs.IntP(o.Flag, o.Short, d, usage)
		case int64:
			fs.Int64P(o.Flag, o.Short, d, usage)
		case time.Duration:
			fs.DurationP(o.Flag, o.Short, d, usage)
		case []string:
			fs.StringSliceP(o.Flag, o.Short, d, usage)
		default:
			panic(fmt.Sprintf("config: option %s has a default of unsupported type %T", o.Key, o.Default))
		}
	}
}
