/*
Copyright 2026 The atlas-issuer Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package framework

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TCPPeers counts a process's established TCP connections by remote port,
// from the sockets among its open files and the TCP tables of its network
// namespace: which servers the process is talking to right now.
func TCPPeers(pid int) (map[int]int, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	out := map[int]int{}
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue // no IPv6
		}
		for port, n := range establishedPeers(string(b), inodes) {
			out[port] += n
		}
	}
	return out, nil
}

// tcpEstablished is the state column's value for ESTABLISHED.
const tcpEstablished = "01"

// establishedPeers reads a /proc/net/tcp table and counts the established
// connections whose socket inode is in inodes, by remote port.
func establishedPeers(table string, inodes map[string]bool) map[int]int {
	out := map[int]int{}
	for i, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if i == 0 || len(f) < 10 || f[3] != tcpEstablished || !inodes[f[9]] {
			continue
		}
		_, hexPort, ok := strings.Cut(f[2], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseInt(hexPort, 16, 32)
		if err != nil {
			continue
		}
		out[int(port)]++
	}
	return out
}
