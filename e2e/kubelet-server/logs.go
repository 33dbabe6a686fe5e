package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-client/pkg/logs"
)

// runtimeStatus is the one CRI call the log reader makes (is the container still running, while following):
// answered by the kubelet's runtime socket. The embedded interface is nil; nothing else is called.
type runtimeStatus struct {
	internalapi.RuntimeService
	rt *runtimeClient
}

func (r runtimeStatus) ContainerStatus(ctx context.Context, id string, _ bool) (*runtimeapi.ContainerStatusResponse, error) {
	running, err := r.rt.running(ctx, id)
	var re *runtimeError
	if errors.As(err, &re) && re.status == http.StatusNotFound {
		running, err = false, nil
	}
	if err != nil {
		return nil, err
	}
	state := runtimeapi.ContainerState_CONTAINER_EXITED
	if running {
		state = runtimeapi.ContainerState_CONTAINER_RUNNING
	}
	return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: id, State: state}}, nil
}

// parseLogOptions reads the query the apiserver sends (PodLogOptions as URL parameters, `tail` the kubelet's old
// spelling of tailLines).
func parseLogOptions(q url.Values) (*v1.PodLogOptions, error) {
	o := &v1.PodLogOptions{}
	var err error
	boolean := func(name string, into *bool) {
		if v := q.Get(name); v != "" && err == nil {
			*into, err = strconv.ParseBool(v)
		}
	}
	integer := func(name string) *int64 {
		v := q.Get(name)
		if v == "" || err != nil {
			return nil
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			err = fmt.Errorf("%s: %w", name, perr)
			return nil
		}
		return &n
	}
	boolean("follow", &o.Follow)
	boolean("previous", &o.Previous)
	boolean("timestamps", &o.Timestamps)
	if tail := q.Get("tail"); tail != "" && tail != "all" && q.Get("tailLines") == "" {
		q.Set("tailLines", tail)
	}
	o.TailLines = integer("tailLines")
	o.LimitBytes = integer("limitBytes")
	o.SinceSeconds = integer("sinceSeconds")
	if v := q.Get("sinceTime"); v != "" && err == nil {
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			err = fmt.Errorf("sinceTime: %w", perr)
		} else {
			o.SinceTime = &metav1.Time{Time: t}
		}
	}
	if v := q.Get("stream"); v != "" {
		o.Stream = &v
	}
	if err != nil {
		return nil, err
	}
	switch {
	case o.TailLines != nil && *o.TailLines < 0:
		return nil, errors.New("tailLines must be >= 0")
	case o.LimitBytes != nil && *o.LimitBytes < 1:
		return nil, errors.New("limitBytes must be > 0")
	case o.SinceSeconds != nil && *o.SinceSeconds < 1:
		return nil, errors.New("sinceSeconds must be > 0")
	case o.SinceSeconds != nil && o.SinceTime != nil:
		return nil, errors.New("at most one of sinceTime or sinceSeconds")
	}
	return o, nil
}

// flushWriter sends every write to the client at once (follow streams line by line), and counts what went out.
type flushWriter struct {
	w       http.ResponseWriter
	written int64
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.written += int64(n)
	if err == nil {
		err = http.NewResponseController(f.w).Flush()
	}
	return n, err
}

// containerLogs serves `kubectl logs` from the run the kubelet names (its validateContainerLogStatus rules, in
// e2e/kubelet/log-selection.ts) with the real CRI log reader: follow, previous, tail, since, limit, timestamps,
// and the stdout/stderr split.
func (s *server) containerLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, container := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	opts, err := parseLogOptions(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	li, err := s.runtime.log(r.Context(), ns, pod, container, opts.Previous)
	if err != nil {
		writeError(w, err)
		return
	}
	fw := &flushWriter{w: w}
	var stdout, stderr io.Writer = fw, fw
	if opts.Stream != nil {
		switch *opts.Stream {
		case v1.LogStreamStdout:
			stderr = nil
		case v1.LogStreamStderr:
			stdout = nil
		case v1.LogStreamAll:
		default:
			http.Error(w, fmt.Sprintf("invalid stream type %q", *opts.Stream), http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if _, err := os.Stat(li.Path); errors.Is(err, os.ErrNotExist) {
		return // a run that never got to write (StartError): no logs
	}
	if opts.Follow {
		// The apiserver waits for the response headers: send them now, not with the container's next line.
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
	}
	err = logs.ReadLogs(r.Context(), nil, li.Path, li.ID, logs.NewLogOptions(opts, time.Now()), runtimeStatus{rt: s.runtime},
		stdout, stderr)
	if err != nil && r.Context().Err() == nil {
		log.Printf("logs %s/%s/%s: %v", ns, pod, container, err)
		if fw.written == 0 {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}
}
