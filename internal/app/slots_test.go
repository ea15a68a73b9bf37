package app

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// heldStore holds every Save until release is closed, as the writer holds
// a group's Saves until it commits.
type heldStore struct {
	feeds.Store
	in      atomic.Int32
	release chan struct{}
}

func (h *heldStore) Save(ctx context.Context, r *feeds.Result) (feeds.Saved, error) {
	h.in.Add(1)
	<-h.release
	return feeds.Saved{}, nil
}

// While a whole group of Saves is held by the writer, twice the
// concurrency more still find room to wait, their fetch slots handed on:
// with room for the group alone every fetcher blocked in Save, holding
// its slot, while the writer committed.
func TestSlotStore_RoomBesideTheGroupBeingWritten(t *testing.T) {
	const n, group = 2, 16
	h := &heldStore{release: make(chan struct{})}
	s := newSlotStore(h, n, group, 100)
	var wg sync.WaitGroup
	defer close(h.release)
	start := func() {
		s.fetching <- struct{}{} // as PollOnce takes a fetch slot per poll
		wg.Go(func() {
			r := &feeds.Result{}
			s.Save(context.Background(), r)
			if _, saved := s.released.LoadAndDelete(r); !saved {
				<-s.fetching
			}
		})
	}
	// Started as PollOnce starts them: each poll once it has a fetch slot.
	go func() {
		for range group + 2*n {
			start()
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for h.in.Load() < group+2*n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := h.in.Load(); got != group+2*n {
		t.Fatalf("%d Saves waiting for the writer, want a group (%d) and 2×%d more", got, group, n)
	}
	// Every fetch slot is free for the next sources' fetches.
	for range n {
		select {
		case s.fetching <- struct{}{}:
		case <-time.After(30 * time.Second):
			t.Fatal("a waiting Save kept its fetch slot")
		}
	}
	for range n {
		<-s.fetching
	}
}
