package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/types"
)

// forwarder connects `kubectl port-forward` streams to localhost:port inside the pod's network namespace, as
// containerd does, so a server listening on the pod's loopback only is reachable too.
type forwarder struct {
	netns string
}

func (f *forwarder) PortForward(ctx context.Context, name string, _ types.UID, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	conn, err := dialInNetns(f.netns, port)
	if err != nil {
		return fmt.Errorf("pod %q: %w", name, err)
	}
	defer conn.Close()
	// Client to pod until the client closes its side (kubectl does once its local connection is done), then a
	// half-close; pod to client until the pod closes. The forward ends with the latter.
	go func() {
		if _, err := io.Copy(conn, stream); err != nil {
			log.Printf("port-forward %s:%d: from client: %v", name, port, err)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(stream, conn)
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	return err
}

// dialInNetns connects to 127.0.0.1:port (else [::1]:port) from inside the network namespace at path: the socket is
// made by this goroutine's OS thread while it is switched into that namespace, and stays there.
func dialInNetns(path string, port int32) (net.Conn, error) {
	target, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("network namespace: %w", err)
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer orig.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("setns %s: %w", path, err)
	}
	conn, err4 := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	var err6 error
	if err4 != nil {
		conn, err6 = net.DialTimeout("tcp6", fmt.Sprintf("[::1]:%d", port), 5*time.Second)
	}
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it ends with this goroutine instead of serving others in the wrong netns.
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	if err4 != nil && err6 != nil {
		return nil, fmt.Errorf("failed to connect to localhost:%d inside the pod's network namespace, IPv4: %v IPv6: %v", port, err4, err6)
	}
	return conn, nil
}
