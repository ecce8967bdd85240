package p2p

import "time"

// Store keeps accepted messages: the history served to catching-up peers
// and the replay cache that survives restarts. Implementations must be
// safe for concurrent use; node/store implements it on badger.
type Store interface {
	// PutMessage stores m. It is idempotent by ID: storing an ID again
	// changes nothing and returns nil.
	PutMessage(m StoredMessage) error
	// HasMessage reports whether id is stored (the replay cache).
	HasMessage(id [32]byte) (bool, error)
	// Messages returns up to limit messages of topic whose (Created, ID)
	// comes after (from, after) and whose Created is before to (a zero to
	// is no bound), ordered by Created then ID. With a zero after, that is
	// every message created at or after from; to page on, pass the last
	// message's Created and ID.
	Messages(topic string, from, to time.Time, after [32]byte, limit int) ([]StoredMessage, error)
	// NewestMessage returns the greatest Created of topic's messages, or
	// the zero time when there are none.
	NewestMessage(topic string) (time.Time, error)
	// PruneMessages deletes the messages created before before, returning
	// how many it deleted.
	PruneMessages(before time.Time) (int, error)
}

// StoredMessage is one accepted envelope as stored.
type StoredMessage struct {
	ID       [32]byte
	Topic    string
	Created  time.Time // the envelope's creation time (author's clock)
	Received time.Time // when this node accepted it (its clock)
	Raw      []byte    // the canonical envelope
}
