// Command etcd runs the upstream etcd server unchanged; it exists so the cluster-in-a-box can build etcd
// from the Go module proxy at a pinned version.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
