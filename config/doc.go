// Package config holds the typed options of every navarch component and
// resolves them from four layers, lowest precedence first:
//
//  1. the defaults declared with each option;
//  2. a YAML config file: --config (NAVARCH_CONFIG), or
//     <data-dir>/config.yaml when that file exists;
//  3. the environment: NAVARCH_ followed by the flag name in upper case
//     with dashes as underscores (NAVARCH_DATA_DIR, NAVARCH_PORT,
//     NAVARCH_ETCD_ENDPOINTS);
//  4. command-line flags that were set.
//
// The config file is nested by component, one section each, with the same
// names as the flags inside a section:
//
//	data-dir: /var/lib/navarch
//	log: {level: info, format: text}
//	server:
//	  port: 6443
//	  etcd: {endpoints: [https://10.0.0.1:2379], cafile: /etc/etcd/ca.pem}
//
// A key the file does not know is an error, so that a typo does not go
// unnoticed.
//
// Seams: Config is the whole configuration and Option describes one
// setting reachable by file, environment and flag. A component adds its
// section by adding a struct field to Config (with a mapstructure tag that
// names the section), a table of Options for the settings that have flags,
// listed in Options, and a Validate method called from Config.Validate.
// Settings that only make sense in a file (lists of structured values,
// such as the Sources a reconciler watches) are plain fields of the section
// without an Option.
//
// Callers: cmd/navarch registers the flags of the options a command uses
// with AddFlags and calls Load with that command's flag set; it then turns
// the sections into the Options structs of the components it starts. This
// is the only package, with cmd/, that knows viper.
package config
