package local

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// holderOf says who holds the flock of the directory d, as /proc/locks
// tells: "held by pid 4242 (flock), shared". Holders in another pid
// namespace show as pid 0 there, or not at all.
func holderOf(d *os.File) string {
	const unknown = "held by another process"
	fi, err := d.Stat()
	if err != nil {
		return unknown
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return unknown
	}
	dev := uint64(st.Dev)
	major := (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff)
	minor := dev&0xff | (dev>>12)&^uint64(0xff)
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, st.Ino)

	f, err := os.Open("/proc/locks")
	if err != nil {
		return unknown
	}
	defer f.Close()
	var holders []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  READ 4242 08:01:1835010 0 EOF"; waiters
		// have "->" after the number.
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" || fields[5] != want {
			continue
		}
		pid, err := strconv.Atoi(fields[4])
		if err != nil {
			continue
		}
		mode := "exclusive"
		if fields[3] == "READ" {
			mode = "shared"
		}
		holders = append(holders, fmt.Sprintf("pid %d (%s), %s", pid, command(pid), mode))
	}
	if len(holders) == 0 {
		return unknown
	}
	if len(holders) > 3 {
		holders = append(holders[:3], fmt.Sprintf("and %d more", len(holders)-3))
	}
	return "held by " + strings.Join(holders, "; ")
}

// command is the name of process pid, or "?" where it cannot be read.
func command(pid int) string {
	if pid == os.Getpid() {
		return "this process"
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
