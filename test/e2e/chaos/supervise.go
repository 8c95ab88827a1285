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

package chaos

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// restartDelay is how long the kubelet waits before it starts a container
// again after its n-th exit in a row (n from 1): 10 s, doubling up to 5
// minutes (CrashLoopBackOff).
func restartDelay(n int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < n && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// supervisor runs a manager the way a Deployment's pod runs it: a process
// that exits by itself is started again after the kubelet's back-off. Kills
// the harness makes on purpose are restarted at once and are not exits.
type supervisor struct {
	r     *run
	name  string
	args  []string
	env   []string
	quit  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	cur   *framework.Process
	n     int
	kills int
	// exits describes each process that ended by itself.
	exits []string
	// killing marks the current process as killed on purpose.
	killing bool
}

// supervise starts a supervised manager named name-NN with the run's
// manager flags plus extra.
func (r *run) supervise(name string, env []string, extra ...string) (*supervisor, error) {
	s := &supervisor{r: r, name: name, args: extra, env: env, quit: make(chan struct{}), done: make(chan struct{})}
	p, err := s.start()
	if err != nil {
		return nil, err
	}
	go s.loop(p)
	return s, nil
}

func (s *supervisor) start() (*framework.Process, error) {
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	p, err := s.r.env.StartManagerProcess(fmt.Sprintf("%s-%02d", s.name, n), s.env, s.args...)
	if err != nil {
		return nil, err
	}
	s.r.track(p)
	s.mu.Lock()
	s.cur = p
	s.mu.Unlock()
	return p, nil
}

func (s *supervisor) loop(p *framework.Process) {
	defer close(s.done)
	inARow := 0
	for {
		select {
		case <-s.quit:
			return
		case <-p.Done():
		}
		s.mu.Lock()
		onPurpose := s.killing
		s.killing = false
		if !onPurpose {
			_, err := p.Exited()
			s.exits = append(s.exits, fmt.Sprintf("%s: %v:%s", p.Name, err, framework.Tail(p.LogPath, 3)))
		}
		s.mu.Unlock()
		delay := time.Duration(0)
		if onPurpose {
			inARow = 0
		} else {
			inARow++
			delay = restartDelay(inARow)
			s.r.logf("%s exited by itself; starting it again in %s", p.Name, delay)
		}
		select {
		case <-s.quit:
			return
		case <-time.After(delay):
		}
		q, err := s.start()
		if err != nil {
			s.mu.Lock()
			s.exits = append(s.exits, fmt.Sprintf("%s could not be started again: %v", s.name, err))
			s.mu.Unlock()
			return
		}
		p = q
	}
}

// process is the manager process running now.
func (s *supervisor) process() *framework.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// kill SIGKILLs the running manager on purpose; the supervisor starts it
// again at once.
func (s *supervisor) kill() {
	s.mu.Lock()
	p := s.cur
	s.killing = true
	s.kills++
	s.mu.Unlock()
	p.Kill()
}

// stop ends supervision and stops the running manager as a rollout would.
func (s *supervisor) stop() {
	close(s.quit)
	<-s.done
	if p := s.process(); p != nil {
		_ = p.Stop(20 * time.Second)
	}
}

// exited lists the processes that ended by themselves.
func (s *supervisor) exited() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.exits...)
}

// leadershipLost reports whether an exit's log tail names lost leadership.
func leadershipLost(exit string) bool {
	return strings.Contains(exit, "leader election lost") || strings.Contains(exit, "leaderelection lost")
}
