package testserver

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// azurite is the Azurite every Azure server of this process uses.
var azurite struct {
	once     sync.Once
	endpoint *url.URL
	err      error
	proc     *azuriteProcess // nil unless this process started it
}

// Main runs the tests and then stops the Azurite that Azure started, if it
// started one. Use it from TestMain in every package that calls Azure:
//
//	func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }
//
// Without it, on Linux, Azurite still stops when the test process exits
// (it gets a parent-death signal), but its temporary directory stays.
func Main(m *testing.M) int {
	code := m.Run()
	if p := azurite.proc; p != nil {
		if err := p.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testserver: stopping azurite-blob: %v\n", err)
		}
	}
	return code
}

const (
	azuriteStartAttempts = 3                // a free port can be taken before Azurite binds it
	azuriteStartTimeout  = 60 * time.Second // per attempt; a cold node start can be slow
	azuriteStopTimeout   = 10 * time.Second // before SIGTERM becomes SIGKILL
)

// azuriteProcess is an azurite-blob this process started.
type azuriteProcess struct {
	cmd    *exec.Cmd
	addr   string // host:port of its blob endpoint
	dir    string // its --location
	output *syncBuffer

	exited  chan struct{} // closed once the process has exited
	waitErr error         // cmd.Wait's result, set before exited closes
}

func lookPathAzurite() (string, error) { return exec.LookPath("azurite-blob") }

// startAzurite starts azurite-blob on a free loopback port and waits until
// it accepts connections.
func startAzurite(bin string) (*azuriteProcess, error) {
	var errs []error
	for range azuriteStartAttempts {
		p, err := startAzuriteOnce(bin)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("starting %s: %w", bin, errors.Join(errs...))
}

func startAzuriteOnce(bin string) (*azuriteProcess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "testserver-azurite-")
	if err != nil {
		return nil, err
	}
	p := &azuriteProcess{
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		dir:    dir,
		output: &syncBuffer{},
		exited: make(chan struct{}),
	}
	p.cmd = exec.Command(bin,
		"--disableTelemetry",
		"--blobHost", "127.0.0.1",
		"--blobPort", strconv.Itoa(port),
		"--location", dir,
		"--silent",
		"--skipApiVersionCheck",
		"--loose",
	)
	p.cmd.Stdout = p.output
	p.cmd.Stderr = p.output
	configureAzurite(p.cmd)

	started := make(chan error, 1)
	go func() {
		// The parent-death signal is tied to the thread that started the
		// child, so that thread must live as long as the child does. The
		// goroutine never unlocks, so the thread ends with it.
		runtime.LockOSThread()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}

	deadline := time.Now().Add(azuriteStartTimeout)
	for {
		conn, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			_ = p.stop()
			return nil, fmt.Errorf("azurite-blob did not listen on %s within %v: %s", p.addr, azuriteStartTimeout, p.output)
		}
		select {
		case <-p.exited:
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("azurite-blob exited (%v): %s", p.waitErr, p.output)
		case <-time.After(100 * time.Millisecond): // polling an external process
		}
	}
}

// stop ends the process, politely first, and removes its data.
func (p *azuriteProcess) stop() error {
	select {
	case <-p.exited:
	default:
		_ = signalAzurite(p.cmd, false)
		select {
		case <-p.exited:
		case <-time.After(azuriteStopTimeout):
			_ = signalAzurite(p.cmd, true)
			<-p.exited
		}
	}
	return os.RemoveAll(p.dir)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer keeps the first few kilobytes a process writes, for error
// messages; it is safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const syncBufferMax = 8 << 10

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := syncBufferMax - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
