package main

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/types"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/kubelet/pkg/cri/streaming/portforward"
	"k8s.io/kubelet/pkg/cri/streaming/remotecommand"
)

// The kubelet's defaults: --streaming-connection-idle-timeout and the stream creation timeout.
const (
	streamIdleTimeout     = 4 * time.Hour
	streamCreationTimeout = remotecommandconsts.DefaultStreamCreationTimeout
)

type server struct {
	runtime *runtimeClient
	procs   *processSet
}

// routes are the real kubelet's paths (pkg/kubelet/server): each with and without the pod uid.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/exec/{ns}/{pod}/{container}", s.exec)
	mux.HandleFunc("/exec/{ns}/{pod}/{uid}/{container}", s.exec)
	mux.HandleFunc("/attach/{ns}/{pod}/{container}", s.attach)
	mux.HandleFunc("/attach/{ns}/{pod}/{uid}/{container}", s.attach)
	mux.HandleFunc("/portForward/{ns}/{pod}", s.portForward)
	mux.HandleFunc("/portForward/{ns}/{pod}/{uid}", s.portForward)
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", s.containerLogs)
	return mux
}

// writeError answers as the kubelet does before a stream is set up: a plain-text message the apiserver passes on.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var re *runtimeError
	if errors.As(err, &re) {
		status = re.status
	}
	http.Error(w, err.Error(), status)
}

// lookupPod finds the pod by namespace and name and, when the path names a uid, checks it is that pod.
func (s *server) lookupPod(r *http.Request) (podInfo, error) {
	ns, name, uid := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("uid")
	p, err := s.runtime.pod(r.Context(), ns, name)
	if err != nil {
		return p, err
	}
	if uid != "" && uid != p.UID {
		return p, &runtimeError{status: http.StatusNotFound, message: fmt.Sprintf("pod %q with uid %s not found", name, uid)}
	}
	return p, nil
}

// streamRequest resolves the pod of an exec or attach request and its stream options, or answers the error.
func (s *server) streamRequest(w http.ResponseWriter, r *http.Request) (podInfo, *remotecommand.Options, bool) {
	p, err := s.lookupPod(r)
	if err != nil {
		writeError(w, err)
		return p, nil, false
	}
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return p, nil, false
	}
	return p, opts, true
}

func (s *server) exec(w http.ResponseWriter, r *http.Request) {
	p, opts, ok := s.streamRequest(w, r)
	if !ok {
		return
	}
	cmd := r.URL.Query()["command"]
	if len(cmd) == 0 {
		http.Error(w, "missing command", http.StatusBadRequest)
		return
	}
	ex := &executor{server: s, namespace: r.PathValue("ns")}
	log.Printf("exec %s/%s/%s %q", r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container"), cmd)
	remotecommand.ServeExec(w, r, ex, r.PathValue("pod"), types.UID(p.UID), r.PathValue("container"), cmd, opts,
		streamIdleTimeout, streamCreationTimeout, remotecommandconsts.SupportedStreamingProtocols)
}

func (s *server) attach(w http.ResponseWriter, r *http.Request) {
	p, opts, ok := s.streamRequest(w, r)
	if !ok {
		return
	}
	ex := &executor{server: s, namespace: r.PathValue("ns")}
	remotecommand.ServeAttach(w, r, ex, r.PathValue("pod"), types.UID(p.UID), r.PathValue("container"), opts,
		streamIdleTimeout, streamCreationTimeout, remotecommandconsts.SupportedStreamingProtocols)
}

func (s *server) portForward(w http.ResponseWriter, r *http.Request) {
	p, err := s.lookupPod(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if p.Netns == "" {
		http.Error(w, fmt.Sprintf("pod %q has no network namespace yet", r.PathValue("pod")), http.StatusBadRequest)
		return
	}
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	log.Printf("port-forward %s/%s", r.PathValue("ns"), r.PathValue("pod"))
	portforward.ServePortForward(w, r, &forwarder{netns: p.Netns}, r.PathValue("pod"), types.UID(p.UID), opts,
		streamIdleTimeout, streamCreationTimeout, portforward.SupportedProtocols)
}
