package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/cri-client/pkg/logs"
	utilexec "k8s.io/utils/exec"
)

// executor runs `kubectl exec` commands in a pod's containers, and attaches to their output.
type executor struct {
	server    *server
	namespace string
}

// processSet holds the commands being exec'd, so a shutdown ends them.
type processSet struct {
	mu    sync.Mutex
	procs map[int]struct{}
}

func newProcessSet() *processSet { return &processSet{procs: map[int]struct{}{}} }

func (s *processSet) add(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs[pid] = struct{}{}
}

func (s *processSet) remove(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.procs, pid)
}

func (s *processSet) killAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid := range s.procs {
		killGroup(pid)
	}
}

// killGroup SIGKILLs the process group the command leads (it and whatever it started).
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }

// nsenterPath is util-linux's nsenter, found once.
var nsenterPath = sync.OnceValues(func() (string, error) {
	for _, p := range []string{"/usr/bin/nsenter", "/bin/nsenter", "/usr/sbin/nsenter"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath("nsenter")
})

// ExecInContainer runs cmd as the fake runtime's exec does (ContainerHandle.exec in e2e/kubelet/container.ts):
// `nsenter` into the container's mount, network and UTS namespaces and working directory, with the container's
// environment. It leads a process group of its own, killed when the container's main process is gone (a pid
// namespace would do that in a real runtime) or on shutdown; as on a real cluster it outlives a kubectl that
// disconnected. The exit status comes back as a CodeExitError, 128+n after signal n, as runtimes report it.
func (e *executor) ExecInContainer(ctx context.Context, name string, _ types.UID, container string, cmd []string,
	in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration,
) error {
	ci, err := e.server.runtime.container(ctx, e.namespace, name, container)
	if err != nil {
		return err
	}
	nsenter, err := nsenterPath()
	if err != nil {
		return fmt.Errorf("nsenter: %w", err)
	}
	args := append([]string{"--target", fmt.Sprint(ci.Pid), "--mount", "--net", "--uts", "--wd", "--"}, cmd...)
	c := exec.Command(nsenter, args...)
	c.Env = ci.Env
	if tty && !hasEnv(c.Env, "TERM") {
		c.Env = append(c.Env, "TERM=xterm") // as containerd does for an exec with a terminal
	}
	// Output a background child keeps open does not hold the exec after its command ended for more than this.
	c.WaitDelay = 2 * time.Second

	var ptmx *os.File
	var copied sync.WaitGroup
	if tty {
		// kubectl sends the terminal's size first thing: start with it when it comes at once.
		var size *pty.Winsize
		select {
		case s, ok := <-resize:
			if ok {
				size = &pty.Winsize{Rows: s.Height, Cols: s.Width}
			}
		case <-time.After(200 * time.Millisecond):
		}
		ptmx, err = pty.StartWithSize(c, size) // a session (and group) of its own, the pty its controlling terminal
		if err != nil {
			return fmt.Errorf("start %q: %w", cmd, err)
		}
		defer ptmx.Close()
		go func() {
			for size := range resize {
				_ = pty.Setsize(ptmx, &pty.Winsize{Rows: size.Height, Cols: size.Width})
			}
		}()
		if in != nil {
			go func() { _, _ = io.Copy(ptmx, in) }()
		}
		if out != nil {
			copied.Add(1)
			go func() {
				defer copied.Done()
				_, _ = io.Copy(out, ptmx) // ends with EIO once the command and its children closed the pty
			}()
		}
	} else {
		if in != nil {
			// A pipe of our own, not exec's copying goroutine: the client's stdin may stay open after the command
			// ended, and Wait must not wait for it.
			pr, pw, err := os.Pipe()
			if err != nil {
				return err
			}
			defer pw.Close()
			c.Stdin = pr
			go func() {
				_, _ = io.Copy(pw, in) // ends at the client's EOF, or when the command has gone (EPIPE)
				pw.Close()
			}()
			defer pr.Close() // (also closed after Start below: the command holds its own copy)
		}
		if out != nil {
			c.Stdout = out
		}
		if errw != nil {
			c.Stderr = errw
		}
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			return fmt.Errorf("start %q: %w", cmd, err)
		}
		if f, ok := c.Stdin.(*os.File); ok {
			f.Close()
		}
	}
	pid := c.Process.Pid
	e.server.procs.add(pid)
	defer e.server.procs.remove(pid)

	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				killGroup(pid)
				return
			case <-tick.C:
				if syscall.Kill(ci.Pid, 0) == syscall.ESRCH {
					killGroup(pid)
					return
				}
			}
		}
	}()

	werr := c.Wait()
	if ptmx != nil {
		waitAtMost(&copied, time.Second)
	}
	return exitError(werr)
}

func hasEnv(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

func waitAtMost(wg *sync.WaitGroup, d time.Duration) {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
	}
}

func exitError(err error) error {
	if err == nil || errors.Is(err, exec.ErrWaitDelay) {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return utilexec.CodeExitError{Err: fmt.Errorf("%s", ws.Signal()), Code: 128 + int(ws.Signal())}
	}
	return utilexec.CodeExitError{Err: err, Code: ee.ExitCode()}
}

// AttachContainer streams what the container prints from now on, until it exits, by following its CRI log (the
// containers of the box have no stdin, and no terminal of their own).
func (e *executor) AttachContainer(ctx context.Context, name string, _ types.UID, container string, in io.Reader,
	out, errw io.WriteCloser, tty bool, _ <-chan remotecommand.TerminalSize,
) error {
	if in != nil {
		return fmt.Errorf("container %q in pod %q has no stdin to attach to (the box's containers have none)", container, name)
	}
	li, err := e.server.runtime.log(ctx, e.namespace, name, container, false)
	if err != nil {
		return err
	}
	var stdout, stderr io.Writer
	if out != nil {
		stdout = out
	}
	switch {
	case errw != nil:
		stderr = errw
	case tty:
		stderr = stdout
	}
	zero := int64(0)
	opts := logs.NewLogOptions(&v1.PodLogOptions{Follow: true, TailLines: &zero}, time.Now())
	err = logs.ReadLogs(ctx, nil, li.Path, li.ID, opts, runtimeStatus{rt: e.server.runtime}, stdout, stderr)
	if err != nil {
		log.Printf("attach %s/%s/%s: %v", e.namespace, name, container, err)
	}
	return err
}
