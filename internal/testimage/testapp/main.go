// Command testapp is the program inside navarch's test image: one static
// binary with small subcommands that play the parts tests need (a server,
// a sleeper, a crasher, a process that ignores SIGTERM, a client). Every
// command but ignore-sigterm prints "terminated by SIGTERM" and exits 143
// on SIGTERM.
//
//	testapp serve [--port 8080]     HTTP: / and /hostname → hostname, /version,
//	                                /podname (POD_NAME), /healthz, /env?name=X
//	testapp sleep [DURATION]        sleep (forever without DURATION), exit 0
//	testapp exit CODE               print and exit with CODE
//	testapp crash-after DURATION [CODE]  run, then exit with CODE (default 1)
//	testapp ignore-sigterm          ignore SIGTERM and sleep forever
//	testapp connect ADDR [TIMEOUT]  HTTP GET http://ADDR/, print the body;
//	                                exit 0 on success, 1 on failure
//	testapp echo ARGS...            print ARGS joined by spaces
//	testapp cat PATH                print the file
//	testapp write PATH TEXT         write TEXT to PATH
//	testapp id                      print uid and gid
//	testapp alloc MiB               allocate and touch MiB of memory, then sleep
//	testapp log N                   print N numbered lines, then sleep
//	testapp tick DURATION           print "tick N" every DURATION, forever
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Ready is printed on stderr by the container's main process (PID 1) once
// its signal handling is in place; it equals testimage.ReadyLine.
const Ready = "testapp: ready"

func main() {
	if len(os.Args) < 2 {
		fatal("usage: testapp COMMAND [ARGS]")
	}
	cmd, args := os.Args[1], os.Args[2:]
	if cmd == "ignore-sigterm" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		exitOnSIGTERM()
	}
	// Tests wait for this line before signalling the process: a signal that
	// arrives before the handler is installed is dropped, because the kernel
	// shields a container's PID 1 from default signal actions. Processes
	// run by exec are not PID 1 and keep their output to what they do.
	if os.Getpid() == 1 {
		fmt.Fprintln(os.Stderr, Ready)
	}
	switch cmd {
	case "serve":
		serve(args)
	case "sleep":
		sleep(args)
	case "exit":
		code := atoi(arg(args, 0, "0"))
		fmt.Printf("exiting with %d\n", code)
		os.Exit(code)
	case "crash-after":
		d := duration(arg(args, 0, "1s"))
		fmt.Printf("running, crashing in %s\n", d)
		time.Sleep(d)
		code := atoi(arg(args, 1, "1"))
		fmt.Printf("crashing with %d\n", code)
		os.Exit(code)
	case "ignore-sigterm":
		fmt.Println("ignoring SIGTERM")
		forever()
	case "connect":
		connect(args)
	case "echo":
		fmt.Println(strings.Join(args, " "))
	case "cat":
		b, err := os.ReadFile(arg(args, 0, ""))
		if err != nil {
			fatal(err.Error())
		}
		os.Stdout.Write(b)
	case "write":
		if err := os.WriteFile(arg(args, 0, ""), []byte(arg(args, 1, "")), 0o644); err != nil {
			fatal(err.Error())
		}
	case "id":
		fmt.Printf("uid=%d gid=%d\n", os.Getuid(), os.Getgid())
	case "alloc":
		alloc(atoi(arg(args, 0, "0")))
	case "log":
		n := atoi(arg(args, 0, "10"))
		for i := 1; i <= n; i++ {
			fmt.Printf("line %d\n", i)
		}
		forever()
	case "tick":
		d := duration(arg(args, 0, "100ms"))
		for i := 1; ; i++ {
			fmt.Printf("tick %d\n", i)
			time.Sleep(d)
		}
	default:
		fatal("unknown command " + cmd)
	}
}

func serve(args []string) {
	port := "8080"
	if len(args) >= 2 && args[0] == "--port" {
		port = args[1]
	}
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	hostname := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, host) }
	mux.HandleFunc("/", hostname)
	mux.HandleFunc("/hostname", hostname)
	mux.HandleFunc("/version", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, os.Getenv("TESTAPP_VERSION"))
	})
	mux.HandleFunc("/podname", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, os.Getenv("POD_NAME"))
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, os.Getenv(r.URL.Query().Get("name")))
	})
	fmt.Printf("serving on :%s\n", port)
	if err := http.ListenAndServe(":"+port, mux); err != nil {
		fatal(err.Error())
	}
}

func sleep(args []string) {
	if len(args) == 0 {
		fmt.Println("sleeping")
		forever()
	}
	d := duration(args[0])
	fmt.Printf("sleeping %s\n", d)
	time.Sleep(d)
}

func connect(args []string) {
	addr := arg(args, 0, "")
	timeout := duration(arg(args, 1, "3s"))
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: (&net.Dialer{Timeout: timeout}).DialContext,
	}}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		fmt.Printf("connect %s: %v\n", addr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s", body)
}

func alloc(mib int) {
	chunks := make([][]byte, 0, mib)
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = byte(j)
		}
		chunks = append(chunks, b)
	}
	fmt.Printf("allocated %d MiB\n", len(chunks))
	forever()
}

func arg(args []string, i int, def string) string {
	if i < len(args) {
		return args[i]
	}
	return def
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fatal(err.Error())
	}
	return n
}

func duration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		fatal(err.Error())
	}
	return d
}

func fatal(msg string) {
	fmt.Fprintln(os.Stderr, "testapp:", msg)
	os.Exit(2)
}

// exitOnSIGTERM exits 143 on SIGTERM, as a process killed by the signal
// does. As PID 1 of a container the default action would be ignored (the
// kernel shields init) and Go would exit 2 instead.
func exitOnSIGTERM() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	go func() {
		<-c
		fmt.Println("terminated by SIGTERM")
		os.Exit(143)
	}()
}

// forever blocks without tripping the runtime's deadlock detector.
func forever() {
	for {
		time.Sleep(time.Hour)
	}
}
