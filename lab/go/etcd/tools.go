//go:build tools

// Package tools pins the upstream etcd server lab/build.sh compiles.
package tools

import _ "go.etcd.io/etcd/server/v3"
