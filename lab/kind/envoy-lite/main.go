// envoy-lite: the part of Envoy that kind's external load balancer uses, for offline kind clusters.
//
// kind (v0.32.0) runs docker.io/envoyproxy/envoy:v1.36.2 as `envoy -c /home/envoy/envoy.yaml`, a
// bootstrap whose listeners (LDS) and clusters (CDS) come from files it rewrites with `mv`. This
// reads the same files and does what Envoy does with them: a TCP proxy per listener to its cluster,
// STRICT_DNS endpoints re-resolved every dns_refresh_rate (5 s), active HTTP health checks (TLS
// when the transport socket match says so, certificates not verified), round robin over healthy
// hosts, and Envoy's panic mode: with fewer than 50 % of the hosts healthy, all hosts get traffic.
// Health-check semantics are Envoy's: a host starts unhealthy, healthy_threshold successes make it
// healthy, unhealthy_threshold network failures (or one non-200 answer) make it unhealthy,
// no_traffic_interval until the cluster has carried traffic. Admin: GET /ready, /clusters.
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

const version = "1.36.2"
const panicThreshold = 50.0 // percent; Envoy's default healthy_panic_threshold

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s][envoy-lite] %s\n", time.Now().UTC().Format("2006-01-02 15:04:05.000"), fmt.Sprintf(format, args...))
}

// --- configuration (the fields kind's templates use) --------------------------------------------

type socketAddress struct {
	Address   string `yaml:"address"`
	PortValue int    `yaml:"port_value"`
}

type address struct {
	SocketAddress socketAddress `yaml:"socket_address"`
}

type pathSource struct {
	PathConfigSource struct {
		Path string `yaml:"path"`
	} `yaml:"path_config_source"`
}

type bootstrap struct {
	Node struct {
		Cluster string `yaml:"cluster"`
		ID      string `yaml:"id"`
	} `yaml:"node"`
	DynamicResources struct {
		CDS pathSource `yaml:"cds_config"`
		LDS pathSource `yaml:"lds_config"`
	} `yaml:"dynamic_resources"`
	Admin struct {
		Address address `yaml:"address"`
	} `yaml:"admin"`
}

type listenerConfig struct {
	Name         string  `yaml:"name"`
	Address      address `yaml:"address"`
	FilterChains []struct {
		Filters []struct {
			Name        string `yaml:"name"`
			TypedConfig struct {
				Cluster string `yaml:"cluster"`
			} `yaml:"typed_config"`
		} `yaml:"filters"`
	} `yaml:"filter_chains"`
}

type healthCheck struct {
	Timeout            string            `yaml:"timeout"`
	Interval           string            `yaml:"interval"`
	NoTrafficInterval  string            `yaml:"no_traffic_interval"`
	UnhealthyThreshold int               `yaml:"unhealthy_threshold"`
	HealthyThreshold   int               `yaml:"healthy_threshold"`
	MatchCriteria      map[string]string `yaml:"transport_socket_match_criteria"`
	HTTP               *struct {
		Path string `yaml:"path"`
		Host string `yaml:"host"`
	} `yaml:"http_health_check"`
}

type clusterConfig struct {
	Name            string        `yaml:"name"`
	ConnectTimeout  string        `yaml:"connect_timeout"`
	Type            string        `yaml:"type"`
	LbPolicy        string        `yaml:"lb_policy"`
	DNSLookupFamily string        `yaml:"dns_lookup_family"`
	DNSRefreshRate  string        `yaml:"dns_refresh_rate"`
	HealthChecks    []healthCheck `yaml:"health_checks"`
	SocketMatches   []struct {
		Name            string            `yaml:"name"`
		Match           map[string]string `yaml:"match"`
		TransportSocket struct {
			Name string `yaml:"name"`
		} `yaml:"transport_socket"`
	} `yaml:"transport_socket_matches"`
	LoadAssignment struct {
		Endpoints []struct {
			LbEndpoints []struct {
				Endpoint struct {
					Address address `yaml:"address"`
				} `yaml:"endpoint"`
			} `yaml:"lb_endpoints"`
		} `yaml:"endpoints"`
	} `yaml:"load_assignment"`
}

func duration(s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return def
	}
	return d
}

// resources reads an xDS file: {resources: [{"@type": ..., ...}]}, keeping those of type typ.
func resources(path, typ string, into func(*yaml.Node) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc struct {
		Resources []yaml.Node `yaml:"resources"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	for i := range doc.Resources {
		var head struct {
			Type string `yaml:"@type"`
		}
		if err := doc.Resources[i].Decode(&head); err != nil {
			return err
		}
		if !strings.HasSuffix(head.Type, typ) {
			return fmt.Errorf("unexpected resource type %q in %s", head.Type, path)
		}
		if err := into(&doc.Resources[i]); err != nil {
			return err
		}
	}
	return nil
}

// --- clusters -------------------------------------------------------------------------------------

type host struct {
	addr      string
	healthy   atomic.Bool
	stop      chan struct{}
	checked   chan struct{} // closed after the first health check
	closeOnce sync.Once
}

type cluster struct {
	cfg        clusterConfig
	hc         *healthCheck
	hcTLS      bool
	connect    time.Duration
	mu         sync.Mutex
	hosts      map[string]*host    // by ip:port
	byEndpoint map[string][]string // endpoint host:port -> resolved ip:port (kept when DNS fails)
	rr         uint64
	traffic    atomic.Bool
	panicking  atomic.Bool
	stop       chan struct{}
	warm       chan struct{}
}

func newCluster(cfg clusterConfig) *cluster {
	c := &cluster{cfg: cfg, hosts: map[string]*host{}, byEndpoint: map[string][]string{},
		stop: make(chan struct{}), warm: make(chan struct{}), connect: duration(cfg.ConnectTimeout, 5*time.Second)}
	if len(cfg.HealthChecks) > 0 {
		c.hc = &cfg.HealthChecks[0]
		for _, m := range cfg.SocketMatches {
			if len(c.hc.MatchCriteria) > 0 && mapsEqualSubset(m.Match, c.hc.MatchCriteria) && strings.Contains(m.TransportSocket.Name, "tls") {
				c.hcTLS = true
			}
		}
	}
	go c.run()
	return c
}

func mapsEqualSubset(match, criteria map[string]string) bool {
	for k, v := range match {
		if criteria[k] != v {
			return false
		}
	}
	return true
}

func (c *cluster) close() {
	close(c.stop)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.hosts {
		close(h.stop)
	}
}

func (c *cluster) run() {
	c.resolve()
	// warm: wait for the first health check of every initial host, as Envoy does
	c.mu.Lock()
	var waits []chan struct{}
	for _, h := range c.hosts {
		waits = append(waits, h.checked)
	}
	c.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-c.stop:
			return
		}
	}
	close(c.warm)
	refresh := duration(c.cfg.DNSRefreshRate, 5*time.Second)
	for {
		select {
		case <-c.stop:
			return
		case <-time.After(refresh):
			c.resolve()
		}
	}
}

func (c *cluster) resolve() {
	family := "ip4"
	if c.cfg.DNSLookupFamily == "V6_ONLY" {
		family = "ip6"
	}
	for _, e := range c.cfg.LoadAssignment.Endpoints {
		for _, lb := range e.LbEndpoints {
			sa := lb.Endpoint.Address.SocketAddress
			key := net.JoinHostPort(sa.Address, strconv.Itoa(sa.PortValue))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			ips, err := net.DefaultResolver.LookupIP(ctx, "ip", sa.Address)
			cancel()
			if err != nil {
				if _, seen := c.byEndpoint[key]; !seen {
					logf("cluster %s: cannot resolve %s: %v", c.cfg.Name, sa.Address, err)
				}
				continue // Envoy keeps the hosts of the last successful resolution
			}
			var picked []net.IP
			for _, ip := range ips {
				if (ip.To4() != nil) == (family == "ip4") {
					picked = append(picked, ip)
				}
			}
			if len(picked) == 0 && c.cfg.DNSLookupFamily != "V4_ONLY" && c.cfg.DNSLookupFamily != "V6_ONLY" {
				picked = ips // V4_PREFERRED / AUTO fall back to the other family
			}
			var addrs []string
			for _, ip := range picked {
				addrs = append(addrs, net.JoinHostPort(ip.String(), strconv.Itoa(sa.PortValue)))
			}
			c.byEndpoint[key] = addrs
		}
	}
	want := map[string]bool{}
	for _, addrs := range c.byEndpoint {
		for _, a := range addrs {
			want[a] = true
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for a := range want {
		if _, ok := c.hosts[a]; !ok {
			h := &host{addr: a, stop: make(chan struct{}), checked: make(chan struct{})}
			c.hosts[a] = h
			logf("cluster %s: host %s added", c.cfg.Name, a)
			if c.hc == nil {
				h.healthy.Store(true)
				close(h.checked)
			} else {
				go c.check(h)
			}
		}
	}
	for a, h := range c.hosts {
		if !want[a] {
			close(h.stop)
			delete(c.hosts, a)
			logf("cluster %s: host %s removed", c.cfg.Name, a)
		}
	}
}

// check runs the active health checks of one host until it is removed.
func (c *cluster) check(h *host) {
	hc := c.hc
	timeout := duration(hc.Timeout, time.Second)
	interval := duration(hc.Interval, 5*time.Second)
	noTraffic := duration(hc.NoTrafficInterval, 60*time.Second)
	unhealthyAfter, healthyAfter := max(hc.UnhealthyThreshold, 1), max(hc.HealthyThreshold, 1)
	scheme, path, hostHeader := "http", "/", c.cfg.Name
	if c.hcTLS {
		scheme = "https"
	}
	if hc.HTTP != nil {
		if hc.HTTP.Path != "" {
			path = hc.HTTP.Path
		}
		if hc.HTTP.Host != "" {
			hostHeader = hc.HTTP.Host
		}
	}
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // ACCEPT_UNTRUSTED
			DisableKeepAlives: true,
			Proxy:             nil,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	fails, oks := 0, 0
	for {
		req, _ := http.NewRequest(http.MethodGet, scheme+"://"+h.addr+path, nil)
		req.Host = hostHeader
		req.Header.Set("User-Agent", "Envoy/HC")
		resp, err := client.Do(req)
		status := 0
		if err == nil {
			status = resp.StatusCode
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
		}
		was := h.healthy.Load()
		switch {
		case err == nil && status == http.StatusOK:
			oks, fails = oks+1, 0
			if !was && oks >= healthyAfter {
				h.healthy.Store(true)
				logf("health check: cluster %s host %s healthy", c.cfg.Name, h.addr)
			}
		case err == nil: // a non-200 answer ejects at once (Envoy ignores unhealthy_threshold then)
			oks, fails = 0, unhealthyAfter
			if was {
				h.healthy.Store(false)
				logf("health check: cluster %s host %s unhealthy: HTTP %d", c.cfg.Name, h.addr, status)
			}
		default:
			oks, fails = 0, fails+1
			if was && fails >= unhealthyAfter {
				h.healthy.Store(false)
				logf("health check: cluster %s host %s unhealthy: %v", c.cfg.Name, h.addr, err)
			}
		}
		h.closeOnce.Do(func() { close(h.checked) })
		wait := interval
		if !c.traffic.Load() {
			wait = noTraffic
		}
		select {
		case <-h.stop:
			return
		case <-c.stop:
			return
		case <-time.After(wait):
		}
	}
}

// pick chooses the upstream of a new connection: round robin over the healthy hosts, or over all
// of them when fewer than panicThreshold percent are healthy (Envoy's panic mode).
func (c *cluster) pick() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var all, healthy []string
	for a, h := range c.hosts {
		all = append(all, a)
		if h.healthy.Load() {
			healthy = append(healthy, a)
		}
	}
	if len(all) == 0 {
		return "", false
	}
	sort.Strings(all)
	sort.Strings(healthy)
	set := healthy
	panicking := float64(len(healthy))*100/float64(len(all)) < panicThreshold
	if panicking {
		set = all
	}
	c.rr++
	return set[int(c.rr%uint64(len(set)))], panicking
}

// --- listeners ------------------------------------------------------------------------------------

type server struct {
	mu        sync.Mutex
	clusters  map[string]*cluster // active (warmed)
	pending   map[string]*cluster
	listeners map[string]*listener
}

type listener struct {
	cfg     listenerConfig
	ln      net.Listener
	cluster atomic.Value // string
}

func (s *server) cluster(name string) *cluster {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clusters[name]
}

func (s *server) serve(l *listener) {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return
		}
		go s.proxy(l, conn)
	}
}

func (s *server) proxy(l *listener, down net.Conn) {
	defer down.Close()
	name, _ := l.cluster.Load().(string)
	c := s.cluster(name)
	if c == nil {
		logf("listener %s: no cluster %q: connection closed", l.cfg.Name, name)
		return
	}
	c.traffic.Store(true)
	addr, panicking := c.pick()
	if addr == "" {
		logf("listener %s: cluster %s has no hosts: connection closed", l.cfg.Name, name)
		return
	}
	if c.panicking.Swap(panicking) != panicking {
		if panicking {
			logf("cluster %s: panic mode (under %.0f%% of hosts healthy): all hosts get traffic", name, panicThreshold)
		} else {
			logf("cluster %s: out of panic mode: healthy hosts only", name)
		}
	}
	d := net.Dialer{Timeout: c.connect, KeepAlive: -1}
	up, err := d.Dial("tcp", addr)
	if err != nil {
		logf("cluster %s: connect to %s failed: %v", name, addr, err)
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, down)
	go pipe(down, up)
	<-done
	<-done
}

func (s *server) applyCDS(path string) error {
	var cfgs []clusterConfig
	err := resources(path, "envoy.config.cluster.v3.Cluster", func(n *yaml.Node) error {
		var c clusterConfig
		if err := n.Decode(&c); err != nil {
			return err
		}
		if c.Type != "" && c.Type != "STRICT_DNS" && c.Type != "STATIC" && c.Type != "LOGICAL_DNS" {
			return fmt.Errorf("cluster %s: type %s is not supported", c.Name, c.Type)
		}
		cfgs = append(cfgs, c)
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, cfg := range cfgs {
		seen[cfg.Name] = true
		if old, ok := s.clusters[cfg.Name]; ok && reflect.DeepEqual(old.cfg, cfg) {
			continue
		}
		if p, ok := s.pending[cfg.Name]; ok {
			p.close()
		}
		c := newCluster(cfg)
		s.pending[cfg.Name] = c
		logf("cluster %s: warming (%d endpoint(s))", cfg.Name, len(cfg.LoadAssignment.Endpoints))
		go func(name string, c *cluster) {
			select {
			case <-c.warm:
			case <-c.stop:
				return
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.pending[name] != c {
				return
			}
			delete(s.pending, name)
			if old, ok := s.clusters[name]; ok {
				old.close()
			}
			s.clusters[name] = c
			logf("cluster %s: warmed, active", name)
		}(cfg.Name, c)
	}
	for name, c := range s.clusters {
		if !seen[name] {
			c.close()
			delete(s.clusters, name)
			logf("cluster %s: removed", name)
		}
	}
	for name, c := range s.pending {
		if !seen[name] {
			c.close()
			delete(s.pending, name)
		}
	}
	return nil
}

func (s *server) applyLDS(path string) error {
	var cfgs []listenerConfig
	err := resources(path, "envoy.config.listener.v3.Listener", func(n *yaml.Node) error {
		var l listenerConfig
		if err := n.Decode(&l); err != nil {
			return err
		}
		cfgs = append(cfgs, l)
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, cfg := range cfgs {
		seen[cfg.Name] = true
		target := ""
		for _, fc := range cfg.FilterChains {
			for _, f := range fc.Filters {
				if f.Name == "envoy.filters.network.tcp_proxy" {
					target = f.TypedConfig.Cluster
				}
			}
		}
		if target == "" {
			return fmt.Errorf("listener %s: only tcp_proxy filter chains are supported", cfg.Name)
		}
		sa := cfg.Address.SocketAddress
		addr := net.JoinHostPort(sa.Address, strconv.Itoa(sa.PortValue))
		if old, ok := s.listeners[cfg.Name]; ok {
			oa := old.cfg.Address.SocketAddress
			if oa == sa {
				old.cluster.Store(target)
				continue
			}
			old.ln.Close()
			delete(s.listeners, cfg.Name)
		}
		lc := net.ListenConfig{KeepAlive: -1}
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			return fmt.Errorf("listener %s: %w", cfg.Name, err)
		}
		l := &listener{cfg: cfg, ln: ln}
		l.cluster.Store(target)
		s.listeners[cfg.Name] = l
		logf("listener %s on %s -> cluster %s", cfg.Name, addr, target)
		go s.serve(l)
	}
	for name, l := range s.listeners {
		if !seen[name] {
			l.ln.Close()
			delete(s.listeners, name)
			logf("listener %s removed", name)
		}
	}
	return nil
}

// watch calls apply whenever path is replaced or rewritten (kind renames new files over old ones).
func watch(path string, apply func(string) error) {
	last := ""
	for {
		if st, err := os.Stat(path); err == nil {
			var ino uint64
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				ino = sys.Ino
			}
			id := fmt.Sprintf("%d/%d/%d", ino, st.Size(), st.ModTime().UnixNano())
			if id != last {
				last = id
				if err := apply(path); err != nil {
					logf("%s rejected: %v", path, err)
				} else {
					logf("%s applied", path)
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (s *server) admin(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/ready":
		fmt.Fprintln(w, "LIVE")
	case "/server_info":
		fmt.Fprintf(w, "{\"version\": \"envoy-lite/%s\", \"state\": \"LIVE\"}\n", version)
	case "/clusters":
		s.mu.Lock()
		defer s.mu.Unlock()
		for name, c := range s.clusters {
			c.mu.Lock()
			for a, h := range c.hosts {
				flag := "healthy"
				if !h.healthy.Load() {
					flag = "/failed_active_hc"
				}
				fmt.Fprintf(w, "%s::%s::health_flags::%s\n", name, a, flag)
			}
			c.mu.Unlock()
		}
	default:
		http.NotFound(w, r)
	}
}

func main() {
	configPath := ""
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--version":
			fmt.Printf("envoy  version: envoy-lite/%s/kplanediag (kind's load balancer subset)\n", version)
			return
		case a == "-c" || a == "--config-path":
			if i+1 < len(args) {
				configPath = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--config-path="):
			configPath = strings.TrimPrefix(a, "--config-path=")
		}
	}
	if configPath == "" {
		fmt.Fprintln(os.Stderr, "usage: envoy -c BOOTSTRAP.yaml")
		os.Exit(1)
	}
	data, err := os.ReadFile(configPath)
	if err != nil {
		logf("%v", err)
		os.Exit(1)
	}
	var b bootstrap
	if err := yaml.Unmarshal(data, &b); err != nil {
		logf("bootstrap %s: %v", configPath, err)
		os.Exit(1)
	}
	cds, lds := b.DynamicResources.CDS.PathConfigSource.Path, b.DynamicResources.LDS.PathConfigSource.Path
	if cds == "" || lds == "" {
		logf("bootstrap %s: only path_config_source CDS and LDS are supported", configPath)
		os.Exit(1)
	}
	s := &server{clusters: map[string]*cluster{}, pending: map[string]*cluster{}, listeners: map[string]*listener{}}
	if sa := b.Admin.Address.SocketAddress; sa.PortValue != 0 {
		addr := net.JoinHostPort(sa.Address, strconv.Itoa(sa.PortValue))
		go func() {
			if err := http.ListenAndServe(addr, http.HandlerFunc(s.admin)); err != nil {
				logf("admin on %s: %v", addr, err)
			}
		}()
	}
	logf("envoy-lite %s starting: node %s/%s, CDS %s, LDS %s", version, b.Node.Cluster, b.Node.ID, cds, lds)
	go watch(cds, s.applyCDS)
	go watch(lds, s.applyLDS)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	logf("exiting")
}
