// Command kubelet-server is the fake kubelet's HTTPS API on a node of the cluster-in-a-box (e2e/kubelet): the
// endpoints kube-apiserver proxies `kubectl exec`, `attach`, `port-forward` and `logs` to. The streaming protocols
// are the real kubelet's (k8s.io/kubelet/pkg/cri/streaming) and logs are read by the real CRI log reader
// (k8s.io/cri-client/pkg/logs); what runs where is asked of the TypeScript kubelet over its runtime socket
// (runtime.go). It runs inside the node's netns, started and stopped by the kubelet.
//
//	kubelet-server --listen 172.30.0.10:10250 --tls-cert-file … --tls-private-key-file … --client-ca-file … \
//	  --allowed-client kube-apiserver-kubelet-client --runtime-socket <kubelet dir>/runtime.sock
//
// It prints "serving on <address>" on stdout once it listens. SIGTERM or SIGINT, or its parent (the kubelet)
// going away: it kills the commands it exec'd and exits.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

type config struct {
	listen        string
	certFile      string
	keyFile       string
	clientCAFile  string
	allowed       stringList
	runtimeSocket string
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("kubelet-server", flag.ContinueOnError)
	fs.StringVar(&c.listen, "listen", "", "address:port to serve HTTPS on (the node IP and 10250)")
	fs.StringVar(&c.certFile, "tls-cert-file", "", "serving certificate (PEM)")
	fs.StringVar(&c.keyFile, "tls-private-key-file", "", "its private key (PEM)")
	fs.StringVar(&c.clientCAFile, "client-ca-file", "", "CA that signs the client certificates accepted")
	fs.Var(&c.allowed, "allowed-client", "common name of a client certificate allowed to call (repeatable)")
	fs.StringVar(&c.runtimeSocket, "runtime-socket", "", "the TypeScript kubelet's runtime socket")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for name, v := range map[string]string{
		"--listen": c.listen, "--tls-cert-file": c.certFile, "--tls-private-key-file": c.keyFile,
		"--client-ca-file": c.clientCAFile, "--runtime-socket": c.runtimeSocket,
	} {
		if v == "" {
			return c, fmt.Errorf("%s is required", name)
		}
	}
	if len(c.allowed) == 0 {
		return c, errors.New("--allowed-client is required (the apiserver's kubelet client certificate)")
	}
	return c, nil
}

// tlsConfig requires a client certificate signed by the client CA. HTTP/1.1 only: exec, attach and port-forward
// are connection upgrades, which HTTP/2 does not have.
func tlsConfig(c config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	caPEM, err := os.ReadFile(c.clientCAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: no certificate", c.clientCAFile)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		NextProtos:   []string{"http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// authorize lets through only requests whose verified client certificate has an allowed common name (the
// apiserver's kubelet client): a real kubelet would authorize anyone else with a SubjectAccessReview.
func authorize(allowed []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		cn := r.TLS.VerifiedChains[0][0].Subject.CommonName
		for _, a := range allowed {
			if cn == a {
				next.ServeHTTP(w, r)
				return
			}
		}
		log.Printf("forbidden: %s %s by %q", r.Method, r.URL.Path, cn)
		http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, path=%s)", cn, strings.ToLower(r.Method), r.URL.Path),
			http.StatusForbidden)
	})
}

func run() error {
	c, err := parseFlags(os.Args[1:])
	if err != nil {
		return err
	}
	tc, err := tlsConfig(c)
	if err != nil {
		return err
	}
	rt := newRuntimeClient(c.runtimeSocket)
	procs := newProcessSet()
	s := &server{runtime: rt, procs: procs}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           authorize(c.allowed, s.routes()),
		TLSConfig:         tc,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.Default(),
	}
	fmt.Printf("serving on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	// The kubelet that started it died without stopping it (reparented): end as if told to.
	ppid := os.Getppid()
	go func() {
		for range time.Tick(time.Second) {
			if os.Getppid() != ppid {
				sigs <- syscall.SIGTERM
				return
			}
		}
	}()
	select {
	case err := <-errc:
		procs.killAll()
		return err
	case sig := <-sigs:
		log.Printf("%s: stopping", sig)
	}
	procs.killAll()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx) // hijacked streams are not waited for: they end with the process
	return nil
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("kubelet-server: ")
	if err := run(); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}
