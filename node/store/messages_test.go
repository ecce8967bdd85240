package store

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/p2p"
)

func msg(topic string, created time.Time, id byte) p2p.StoredMessage {
	var m p2p.StoredMessage
	m.ID[0], m.ID[31] = id, id
	m.Topic, m.Created, m.Received = topic, created, created.Add(time.Second)
	m.Raw = []byte(fmt.Sprintf("envelope %d of %s", id, topic))
	return m
}

func putAll(t *testing.T, s *Store, ms ...p2p.StoredMessage) {
	t.Helper()
	for _, m := range ms {
		if err := s.PutMessage(m); err != nil {
			t.Fatalf("PutMessage(%x): %v", m.ID[:1], err)
		}
	}
}

// ids lists the first byte of each message's ID, for readable got/want.
func ids(ms []p2p.StoredMessage) []byte {
	out := []byte{}
	for _, m := range ms {
		out = append(out, m.ID[0])
	}
	return out
}

func TestMessagesOrderAndCursor(t *testing.T) {
	s := openMem(t)
	const topic = "/gridmint/1/meter"
	// Inserted out of order; two pairs share a creation time.
	putAll(t, s,
		msg(topic, t0.Add(2*time.Second), 5),
		msg(topic, t0, 3),
		msg(topic, t0.Add(time.Second), 9),
		msg(topic, t0, 1),
		msg(topic, t0.Add(time.Second), 2),
		msg(topic+"x", t0, 7),            // a topic whose name extends ours
		msg("/gridmint/1/offers", t0, 8), // another topic
	)
	var none [32]byte
	at := func(id byte) [32]byte { return msg("", t0, id).ID }
	cases := []struct {
		name     string
		from, to time.Time
		after    [32]byte
		limit    int
		want     []byte
	}{
		{"all, by time then id", t0, time.Time{}, none, 0, []byte{1, 3, 2, 9, 5}},
		{"first page", t0, time.Time{}, none, 2, []byte{1, 3}},
		{"after (t0, 3)", t0, time.Time{}, at(3), 2, []byte{2, 9}},
		{"after (t0+1s, 9)", t0.Add(time.Second), time.Time{}, at(9), 2, []byte{5}},
		{"after (t0, 1) is inside equal times", t0, time.Time{}, at(1), 0, []byte{3, 2, 9, 5}},
		{"to is exclusive", t0, t0.Add(2 * time.Second), none, 0, []byte{1, 3, 2, 9}},
		{"from in between", t0.Add(time.Millisecond), time.Time{}, none, 0, []byte{2, 9, 5}},
		{"empty range", t0.Add(time.Hour), time.Time{}, none, 0, []byte{}},
	}
	for _, c := range cases {
		got, err := s.Messages(topic, c.from, c.to, c.after, c.limit)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !bytes.Equal(ids(got), c.want) {
			t.Errorf("%s: got ids %v, want %v", c.name, ids(got), c.want)
		}
	}
	got, _ := s.Messages(topic, t0, time.Time{}, none, 1)
	want := msg(topic, t0, 1)
	if len(got) != 1 || got[0].ID != want.ID || !got[0].Created.Equal(want.Created) || !got[0].Received.Equal(want.Received) ||
		got[0].Topic != topic || !bytes.Equal(got[0].Raw, want.Raw) {
		t.Errorf("message round trip: got %+v, want %+v", got, want)
	}
	// Paging through everything with the last (Created, ID) as cursor
	// visits every message once.
	var paged []byte
	from, after := t0, none
	for range 10 {
		page, err := s.Messages(topic, from, time.Time{}, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, ids(page)...)
		if len(page) < 2 {
			break
		}
		from, after = page[len(page)-1].Created, page[len(page)-1].ID
	}
	if !bytes.Equal(paged, []byte{1, 3, 2, 9, 5}) {
		t.Errorf("paging by 2: got %v", paged)
	}
}

func TestPutMessageIsIdempotent(t *testing.T) {
	s := openMem(t)
	first := msg("/t", t0, 1)
	again := first
	again.Received, again.Raw = t0.Add(time.Hour), []byte("another copy")
	putAll(t, s, first, again)
	got, err := s.Messages("/t", t0, time.Time{}, [32]byte{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !bytes.Equal(got[0].Raw, first.Raw) || !got[0].Received.Equal(first.Received) {
		t.Errorf("after two puts of one ID: %+v; want only the first", got)
	}
	for _, c := range []struct {
		id   byte
		want bool
	}{{1, true}, {2, false}} {
		if has, err := s.HasMessage(msg("", t0, c.id).ID); err != nil || has != c.want {
			t.Errorf("HasMessage(%d) = %v, %v; want %v", c.id, has, err, c.want)
		}
	}
}

func TestPutMessageRejectsBadInput(t *testing.T) {
	s := openMem(t)
	long := string(bytes.Repeat([]byte("x"), 256))
	for _, m := range []p2p.StoredMessage{
		{Topic: "", Created: t0, Received: t0, Raw: []byte{1}},
		{Topic: long, Created: t0, Received: t0, Raw: []byte{1}},
		{Topic: "/t", Created: t0, Received: t0},
		{Topic: "/t", Created: t0, Received: t0, Raw: make([]byte, MaxValueLen+1)},
		{Topic: "/t", Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Received: t0, Raw: []byte{1}},
	} {
		if err := s.PutMessage(m); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("PutMessage(topic %d B, raw %d B, created %v) = %v, want EInvalid", len(m.Topic), len(m.Raw), m.Created, err)
		}
	}
}

func TestNewestAndPruneMessages(t *testing.T) {
	s := openMem(t)
	putAll(t, s,
		msg("/a", t0, 1), msg("/a", t0.Add(time.Hour), 2), msg("/a", t0.Add(2*time.Hour), 3),
		msg("/b", t0.Add(-time.Hour), 4), msg("/b", t0.Add(3*time.Hour), 5),
		msg("/c", t0.Add(-2*time.Hour), 6),
	)
	for topic, want := range map[string]time.Time{"/a": t0.Add(2 * time.Hour), "/b": t0.Add(3 * time.Hour), "/c": t0.Add(-2 * time.Hour), "/none": {}} {
		if got, err := s.NewestMessage(topic); err != nil || !got.Equal(want) {
			t.Errorf("NewestMessage(%s) = %v, %v; want %v", topic, got, err, want)
		}
	}
	n, err := s.PruneMessages(t0.Add(time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("PruneMessages = %d, %v; want 3 (ids 1, 4, 6)", n, err)
	}
	for id, want := range map[byte]bool{1: false, 2: true, 3: true, 4: false, 5: true, 6: false} {
		if has, _ := s.HasMessage(msg("", t0, id).ID); has != want {
			t.Errorf("after pruning, HasMessage(%d) = %v, want %v", id, has, want)
		}
	}
	if got, _ := s.Messages("/a", time.Time{}, time.Time{}, [32]byte{}, 0); !bytes.Equal(ids(got), []byte{2, 3}) {
		t.Errorf("/a after pruning: %v, want [2 3]", ids(got))
	}
	if got, _ := s.NewestMessage("/c"); !got.IsZero() {
		t.Errorf("/c newest after pruning everything: %v, want zero", got)
	}
	if n, err := s.PruneMessages(t0.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("pruning again = %d, %v; want 0", n, err)
	}
}

func TestPruneManyMessages(t *testing.T) {
	s := openMem(t)
	const total = 3*pruneChunk + 17
	for i := range total {
		m := msg("/many", t0.Add(time.Duration(i)*time.Millisecond), byte(i))
		m.ID[1], m.ID[2] = byte(i>>8), byte(i>>16)
		putAll(t, s, m)
	}
	if n, err := s.PruneMessages(t0.Add(time.Hour)); err != nil || n != total {
		t.Errorf("PruneMessages = %d, %v; want %d in several chunks", n, err, total)
	}
}

func TestMessagesSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, Options{})
	m := msg("/gridmint/1/awards", t0, 42)
	putAll(t, s, m)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HasMessage(m.ID); err == nil {
		t.Error("HasMessage on a closed store succeeded")
	}
	if err := s.PutMessage(msg("/t", t0, 1)); err == nil {
		t.Error("PutMessage on a closed store succeeded")
	}
	s = openDisk(t, dir, Options{})
	if has, err := s.HasMessage(m.ID); err != nil || !has {
		t.Errorf("after reopen HasMessage = %v, %v; want true", has, err)
	}
	got, err := s.Messages(m.Topic, t0, time.Time{}, [32]byte{}, 0)
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Raw, m.Raw) {
		t.Errorf("after reopen Messages = %+v, %v", got, err)
	}
}
