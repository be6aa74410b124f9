package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tsingma/tsingma/internal/backup"
	"github.com/tsingma/tsingma/internal/bus"
	"github.com/tsingma/tsingma/internal/route"
)

// RoutingModel and RoutingVersion name the routing model in jobs and
// progress events.
const (
	RoutingModel   = "routing"
	RoutingVersion = "tsingma-hgs-vrptw/1.0"
)

// Job states.
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StateDone      = "done"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Errors for the API to map.
var (
	ErrNotFound = errors.New("dispatch: no such job")
	// ErrState: the job's state does not allow the operation.
	ErrState  = errors.New("dispatch: job state does not allow this")
	ErrClosed = errors.New("dispatch: service closed")
	// ErrBusy: too many jobs queued.
	ErrBusy = errors.New("dispatch: too many routing jobs queued")
)

// Job is a routing job and, once finished, its checked plan.
type Job struct {
	ID       string    `json:"id"`
	Tenant   string    `json:"tenant"`
	State    string    `json:"state"`
	Model    string    `json:"model"`
	Created  time.Time `json:"created"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// Source is "twins" (built from a depot twin) or "explicit".
	Source     string  `json:"source"`
	Depot      string  `json:"depot,omitempty"`
	TimeLimitS float64 `json:"time_limit_s"`
	// Definition is the resolved problem (read from the twins when the
	// source is "twins"), times in seconds from Plan.Start.
	Definition Definition `json:"definition"`
	// Progress is the best cost over time (one point per improvement, at
	// most 200 kept: the first and the newest).
	Progress []Progress `json:"progress"`
	Plan     *Plan      `json:"plan,omitempty"`
	// ReplanOf and Previous: a re-planned job keeps the plan it replaces.
	ReplanOf string  `json:"replan_of,omitempty"`
	Previous *Plan   `json:"previous,omitempty"`
	Replan   *Replan `json:"replan,omitempty"`
	Error    string  `json:"error,omitempty"`
	// Start is time 0 of the definition's times.
	Start time.Time `json:"start"`

	dropped []Unserved         // left out by Replan before solving
	history map[string][]Visit // served before a re-plan, per vehicle
}

// Progress is one improvement of the best feasible solution.
type Progress struct {
	Job        string  `json:"job"`
	State      string  `json:"state"`
	ElapsedS   float64 `json:"elapsed_s"`
	Iteration  int     `json:"iteration"`
	DistanceKM float64 `json:"distance_km"`
	Vehicles   int     `json:"vehicles"`
}

// Summary is a job without its definition and plan (for lists).
type Summary struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	Created    time.Time `json:"created"`
	Finished   time.Time `json:"finished,omitzero"`
	Source     string    `json:"source"`
	Depot      string    `json:"depot,omitempty"`
	Stops      int       `json:"stops"`
	Vehicles   int       `json:"vehicles"`
	ReplanOf   string    `json:"replan_of,omitempty"`
	DistanceKM float64   `json:"distance_km,omitempty"`
	Used       int       `json:"vehicles_used,omitempty"`
	Unserved   int       `json:"unserved,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// Config configures the routing-job service.
type Config struct {
	Path   string // bbolt file for jobs
	Twins  Twins
	Bus    *bus.Bus // progress and state events, Kind "routing"; may be nil
	Logger *slog.Logger
	// Concurrency bounds the jobs solved at once (default 1: the solver
	// uses one core per job).
	Concurrency int
	// MaxQueued bounds the queued jobs (default 16).
	MaxQueued int
	// DefaultTime and MaxTime bound a job's solver time (default 20 s, 5 min).
	DefaultTime, MaxTime time.Duration
	Now                  func() time.Time
}

// Service runs routing jobs. Open it, Start is implicit; Close cancels
// running jobs (their best plan so far is kept) and waits.
type Service struct {
	cfg    Config
	log    *slog.Logger
	db     *bolt.DB
	sem    chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	jobs    map[string]*Job // tenant/id → job (finished jobs are in the db)
	cancels map[string]context.CancelFunc
	queued  int
	closed  bool

	solved, failed atomic.Int64
}

var bucketJobs = []byte("jobs")

// Open opens (or creates) the job store. Jobs that were queued or running
// when the process stopped are marked failed.
func Open(cfg Config) (*Service, error) {
	if cfg.Path == "" || cfg.Twins == nil {
		return nil, errors.New("dispatch: Config needs Path and Twins")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = 16
	}
	if cfg.DefaultTime <= 0 {
		cfg.DefaultTime = 20 * time.Second
	}
	if cfg.MaxTime <= 0 {
		cfg.MaxTime = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("dispatch: open %s: %w", cfg.Path, err)
	}
	s := &Service{cfg: cfg, log: cfg.Logger.With("component", "routing"), db: db,
		sem: make(chan struct{}, cfg.Concurrency), jobs: map[string]*Job{}, cancels: map[string]context.CancelFunc{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketJobs)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("job %s: %w", k, err)
			}
			if j.State != StateQueued && j.State != StateRunning {
				return nil
			}
			j.State, j.Error, j.Finished = StateFailed, "interrupted: the server stopped before the job finished", cfg.Now().UTC()
			buf, err := json.Marshal(&j)
			if err != nil {
				return err
			}
			return b.Put(k, buf)
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("dispatch: load jobs: %w", err)
	}
	return s, nil
}

// Close cancels every job, waits for them and closes the store.
// Idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return s.db.Close()
}

func key(tenant, id string) []byte { return []byte(tenant + "\x00" + id) }

func newID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "rj-" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Submit validates a definition (reading the twins for a depot), stores
// the job as queued and starts it. Validation errors are *route.StopError,
// *route.VehicleError, *route.MatrixError, route.ErrNoVehicles or
// *DefinitionError.
func (s *Service) Submit(ctx context.Context, tenant string, def Definition) (*Job, error) {
	now := s.cfg.Now()
	j := &Job{Tenant: tenant, Model: RoutingVersion, Created: now.UTC(), Start: now.UTC().Truncate(time.Second), Source: "explicit"}
	if def.Depot != "" {
		if def.DepotLocation != nil || len(def.Stops) > 0 || len(def.Vehicles) > 0 || def.Distance != nil {
			return nil, &DefinitionError{"depot", "give either a depot twin or an explicit problem, not both"}
		}
		var err error
		j.Source, j.Depot = "twins", def.Depot
		if def, j.dropped, err = fromTwins(ctx, s.cfg.Twins, tenant, def, j.Start); err != nil {
			return nil, err
		}
	}
	return s.enqueue(j, def)
}

func (s *Service) enqueue(j *Job, def Definition) (*Job, error) {
	if err := def.normalise(); err != nil {
		return nil, err
	}
	if err := def.problem().Validate(); err != nil {
		return nil, err
	}
	lim := s.cfg.DefaultTime
	if def.TimeLimitS > 0 {
		// Compared in seconds first: 1e300 s overflowed the Duration into
		// a negative limit.
		lim = s.cfg.MaxTime
		if def.TimeLimitS < s.cfg.MaxTime.Seconds() {
			lim = time.Duration(def.TimeLimitS * float64(time.Second))
		}
	}
	lim = min(lim, s.cfg.MaxTime)
	j.TimeLimitS = lim.Seconds()
	j.Definition = def
	j.ID = newID(j.Created)
	j.State = StateQueued
	j.Progress = []Progress{}
	ctx, cancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return nil, ErrClosed
	}
	if s.queued >= s.cfg.MaxQueued {
		s.mu.Unlock()
		cancel()
		return nil, ErrBusy
	}
	if err := s.put(j); err != nil {
		s.mu.Unlock()
		cancel()
		return nil, err
	}
	s.queued++
	s.jobs[string(key(j.Tenant, j.ID))] = j
	s.cancels[string(key(j.Tenant, j.ID))] = cancel
	out := clone(j)
	s.wg.Add(1)
	s.mu.Unlock()
	s.publish(j.Tenant, Progress{Job: j.ID, State: StateQueued})
	go s.run(ctx, cancel, j, lim)
	return out, nil
}

func clone(j *Job) *Job {
	c := *j
	c.Progress = slices.Clone(j.Progress)
	return &c
}

// put stores j; the caller holds s.mu or owns j exclusively.
func (s *Service) put(j *Job) error {
	buf, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketJobs).Put(key(j.Tenant, j.ID), buf) })
}

func (s *Service) publish(tenant string, p Progress) {
	if s.cfg.Bus != nil {
		s.cfg.Bus.Publish(bus.Event{Kind: "routing", Tenant: tenant, Data: p})
	}
}

func (s *Service) run(ctx context.Context, cancel context.CancelFunc, j *Job, lim time.Duration) {
	defer s.wg.Done()
	defer cancel()
	k := string(key(j.Tenant, j.ID))
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.queued--
	if ctx.Err() != nil {
		j.State, j.Finished = StateCancelled, s.cfg.Now().UTC()
		j.Error = "cancelled before it started"
		s.finish(k, j)
		s.mu.Unlock()
		s.publish(j.Tenant, Progress{Job: j.ID, State: StateCancelled})
		return
	}
	j.State, j.Started = StateRunning, s.cfg.Now().UTC()
	if err := s.put(j); err != nil {
		s.log.Warn("store routing job", "job", j.ID, "err", err)
	}
	s.mu.Unlock()
	defer func() { <-s.sem }()
	s.publish(j.Tenant, Progress{Job: j.ID, State: StateRunning})

	def := j.Definition
	opts := route.Options{Seed: def.Seed, TimeLimit: lim}
	plan, err := solve(ctx, &def, j.Start, opts, func(im route.Improvement) {
		p := Progress{Job: j.ID, State: StateRunning, ElapsedS: round(im.Elapsed.Seconds(), 3), Iteration: im.Iteration,
			DistanceKM: round(im.Distance, 3), Vehicles: im.Vehicles}
		s.mu.Lock()
		if len(j.Progress) >= 200 {
			j.Progress = append(j.Progress[:1], j.Progress[2:]...)
		}
		j.Progress = append(j.Progress, p)
		s.mu.Unlock()
		s.publish(j.Tenant, p)
	})
	s.mu.Lock()
	j.Finished = s.cfg.Now().UTC()
	switch {
	case err != nil:
		j.State, j.Error = StateFailed, err.Error()
		if ctx.Err() != nil {
			j.State, j.Error = StateCancelled, "cancelled before a plan was found"
		}
		s.failed.Add(1)
	case ctx.Err() != nil:
		j.State, j.Plan = StateCancelled, plan
		j.Error = "cancelled: the plan is the best found before cancellation"
	default:
		j.State, j.Plan = StateDone, plan
		s.solved.Add(1)
	}
	if j.Plan != nil {
		j.Plan.addHistory(j.dropped, j.history)
	}
	s.finish(k, j)
	s.mu.Unlock()
	p := Progress{Job: j.ID, State: j.State}
	if plan != nil {
		p.DistanceKM, p.Vehicles, p.Iteration, p.ElapsedS = plan.DistanceKM, plan.Vehicles, plan.Iterations, plan.ElapsedS
	}
	s.publish(j.Tenant, p)
	s.log.Info("routing job finished", "job", j.ID, "state", j.State, "err", j.Error)
}

// finish stores a finished job and forgets it in memory; s.mu is held.
func (s *Service) finish(k string, j *Job) {
	if err := s.put(j); err != nil {
		// Stored as failed, not left "running" in storage for ever (a
		// plan with an infinite time could not be encoded, session 11).
		s.log.Warn("store routing job", "job", j.ID, "err", err)
		j.State, j.Plan, j.Error = StateFailed, nil, "the finished job could not be stored: "+err.Error()
		if err := s.put(j); err != nil {
			s.log.Error("store routing job", "job", j.ID, "err", err)
			return // kept in memory: Get answers its final state
		}
	}
	delete(s.jobs, k)
	delete(s.cancels, k)
}

// Get returns a job.
func (s *Service) Get(tenant, id string) (*Job, error) {
	s.mu.Lock()
	if j, ok := s.jobs[string(key(tenant, id))]; ok {
		c := clone(j)
		s.mu.Unlock()
		return c, nil
	}
	s.mu.Unlock()
	var j Job
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketJobs).Get(key(tenant, id))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &j)
	})
	if err != nil {
		return nil, err
	}
	return &j, nil
}

// List returns the tenant's jobs, newest first.
func (s *Service) List(tenant string) ([]Summary, error) {
	var out []Summary
	prefix := []byte(tenant + "\x00")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketJobs).Cursor()
		for k, v := c.Seek(prefix); k != nil && len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("job %q: %w", k, err)
			}
			out = append(out, summary(&j))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	for i := range out {
		if j, ok := s.jobs[string(key(tenant, out[i].ID))]; ok {
			out[i] = summary(j)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Summary) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if out == nil {
		out = []Summary{}
	}
	return out, nil
}

func summary(j *Job) Summary {
	s := Summary{ID: j.ID, State: j.State, Created: j.Created, Finished: j.Finished, Source: j.Source, Depot: j.Depot,
		Stops: len(j.Definition.Stops), Vehicles: len(j.Definition.Vehicles), ReplanOf: j.ReplanOf, Error: j.Error}
	if j.Plan != nil {
		s.DistanceKM, s.Used, s.Unserved = j.Plan.DistanceKM, j.Plan.Vehicles, len(j.Plan.Unserved)
	}
	return s
}

// Cancel stops a queued or running job; a running job keeps the best plan
// found so far. Cancelling a finished job is ErrState.
func (s *Service) Cancel(tenant, id string) (*Job, error) {
	s.mu.Lock()
	cancel, ok := s.cancels[string(key(tenant, id))]
	s.mu.Unlock()
	if !ok {
		if _, err := s.Get(tenant, id); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: job %s has finished", ErrState, id)
	}
	cancel()
	return s.Get(tenant, id)
}

// Wait blocks until the job has finished or ctx is done (tests, CLI).
func (s *Service) Wait(ctx context.Context, tenant, id string) (*Job, error) {
	for {
		j, err := s.Get(tenant, id)
		if err != nil {
			return nil, err
		}
		if j.State != StateQueued && j.State != StateRunning {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// WriteMetrics writes the service's Prometheus metrics.
func (s *Service) WriteMetrics(w io.Writer) {
	s.mu.Lock()
	active := len(s.jobs)
	s.mu.Unlock()
	fmt.Fprintf(w, "# HELP tsingma_routing_jobs_active Routing jobs queued or running.\n# TYPE tsingma_routing_jobs_active gauge\ntsingma_routing_jobs_active %d\n", active)
	fmt.Fprintf(w, "# HELP tsingma_routing_jobs_total Routing jobs finished, by outcome.\n# TYPE tsingma_routing_jobs_total counter\n")
	fmt.Fprintf(w, "tsingma_routing_jobs_total{outcome=\"planned\"} %d\ntsingma_routing_jobs_total{outcome=\"failed\"} %d\n", s.solved.Load(), s.failed.Load())
}

// Backup adds the database under name to sink, as of one read transaction
// (writes go on meanwhile).
func (s *Service) Backup(sink backup.Sink, name string) error { return backup.Bolt(sink, name, s.db) }
