package main

// The contract with the TypeScript kubelet (e2e/kubelet/runtime-socket.ts serves it): JSON over HTTP/1.1 on a
// unix socket, read-only, asked per request so it is never stale.
//
//	GET /v1/pods/{namespace}/{name}
//	    200 {"uid": "…", "netns": "/run/netns/…"}   the pod's network namespace (the node's for hostNetwork)
//	GET /v1/pods/{namespace}/{name}/containers/{container}
//	    200 {"id": "ambit-box://…", "pid": 123, "env": ["K=V", …]}   a running container: its main process and env
//	GET /v1/pods/{namespace}/{name}/containers/{container}/log[?previous=true]
//	    200 {"id": "ambit-box://…", "path": "/…/0.log"}   the run `kubectl logs` shows and its CRI log file
//	GET /v1/containers/{id}
//	    200 {"running": true|false}
//
// Any other status carries {"message": "…"}, meant for the user: the server answers with the same status.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type runtimeClient struct {
	http *http.Client
}

// runtimeError is a refusal from the kubelet (pod not found, container not running, …).
type runtimeError struct {
	status  int
	message string
}

func (e *runtimeError) Error() string { return e.message }

type podInfo struct {
	UID   string `json:"uid"`
	Netns string `json:"netns"`
}

type containerInfo struct {
	ID  string   `json:"id"`
	Pid int      `json:"pid"`
	Env []string `json:"env"`
}

type logInfo struct {
	ID   string `json:"id"`
	Path string `json:"path"`
}

type containerState struct {
	Running bool `json:"running"`
}

func newRuntimeClient(socket string) *runtimeClient {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &runtimeClient{http: &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "unix", socket)
			},
			MaxIdleConns: 4,
		},
	}}
}

// get asks for the path made of segments (each escaped) and decodes the JSON answer into `into`.
func (c *runtimeClient) get(ctx context.Context, segments []string, query url.Values, into any) error {
	escaped := make([]string, len(segments))
	for i, s := range segments {
		escaped[i] = url.PathEscape(s)
	}
	u := "http://kubelet/" + strings.Join(escaped, "/")
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("kubelet runtime socket: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("kubelet runtime socket: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		var m struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &m) != nil || m.Message == "" {
			m.Message = fmt.Sprintf("kubelet runtime socket: %s: %s", res.Status, body)
		}
		return &runtimeError{status: res.StatusCode, message: m.Message}
	}
	return json.Unmarshal(body, into)
}

func (c *runtimeClient) pod(ctx context.Context, ns, name string) (podInfo, error) {
	var p podInfo
	err := c.get(ctx, []string{"v1", "pods", ns, name}, nil, &p)
	return p, err
}

func (c *runtimeClient) container(ctx context.Context, ns, pod, container string) (containerInfo, error) {
	var ci containerInfo
	err := c.get(ctx, []string{"v1", "pods", ns, pod, "containers", container}, nil, &ci)
	return ci, err
}

func (c *runtimeClient) log(ctx context.Context, ns, pod, container string, previous bool) (logInfo, error) {
	var li logInfo
	q := url.Values{}
	if previous {
		q.Set("previous", "true")
	}
	err := c.get(ctx, []string{"v1", "pods", ns, pod, "containers", container, "log"}, q, &li)
	return li, err
}

func (c *runtimeClient) running(ctx context.Context, id string) (bool, error) {
	var s containerState
	err := c.get(ctx, []string{"v1", "containers", id}, nil, &s)
	return s.Running, err
}
