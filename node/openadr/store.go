package openadr

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Store keeps the VTN's objects. Put must be durable when it returns.
// Implementations must be safe for concurrent use.
type Store interface {
	Put(key string, value []byte) error
	Delete(key string) error
	// Scan calls fn with every record whose key starts with prefix;
	// value is only valid during the call.
	Scan(prefix string, fn func(key string, value []byte) error) error
}

// KV is the node store's generic record space (node/store's settlement
// records: PutSettle, DeleteSettle, ScanSettle).
type KV interface {
	PutSettle(key string, value []byte) error
	DeleteSettle(keys []string) error
	ScanSettle(prefix string, fn func(key string, value []byte) error) error
}

// kvPrefix keeps the VTN's records apart from the settlement engine's
// ("b/" and "a/") in the node store's record space.
const kvPrefix = "oadr/"

// StoreOn is a Store in the node store's record space, under "oadr/".
func StoreOn(kv KV) Store { return kvStore{kv} }

type kvStore struct{ kv KV }

func (s kvStore) Put(key string, value []byte) error { return s.kv.PutSettle(kvPrefix+key, value) }
func (s kvStore) Delete(key string) error            { return s.kv.DeleteSettle([]string{kvPrefix + key}) }
func (s kvStore) Scan(prefix string, fn func(string, []byte) error) error {
	return s.kv.ScanSettle(kvPrefix+prefix, func(k string, v []byte) error { return fn(strings.TrimPrefix(k, kvPrefix), v) })
}

// object is a pointer to one of the model's objects.
type object[T any] interface {
	*T
	meta() *Meta
}

// record is the stored form: the object and what is kept beside it.
type record[T any] struct {
	Object    T      `json:"o"`
	ProgramID string `json:"p,omitempty"` // reports: the program of the event
}

// collection is one object type, in memory and written through to the
// store. The caller (VTN) serialises access with its mutex.
type collection[T any, P object[T]] struct {
	kind  string // in keys and messages: "program"
	typ   string // the objectType notifications name: TypeProgram
	st    Store
	items map[string]record[T]
}

func newCollection[T any, P object[T]](kind, typ string, st Store) (*collection[T, P], error) {
	c := &collection[T, P]{kind: kind, typ: typ, st: st, items: map[string]record[T]{}}
	err := st.Scan(kind+"/", func(key string, v []byte) error {
		var r record[T]
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("openadr: stored %s: %w", key, err)
		}
		c.items[P(&r.Object).meta().ID] = r
		return nil
	})
	return c, err
}

func (c *collection[T, P]) get(id string) (T, bool) {
	r, ok := c.items[id]
	return r.Object, ok
}

func (c *collection[T, P]) programOf(id string) string { return c.items[id].ProgramID }

func (c *collection[T, P]) put(o T, programID string) error {
	r := record[T]{Object: o, ProgramID: programID}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	id := P(&o).meta().ID
	if err := c.st.Put(c.kind+"/"+id, b); err != nil {
		return err
	}
	c.items[id] = r
	return nil
}

func (c *collection[T, P]) delete(id string) error {
	if err := c.st.Delete(c.kind + "/" + id); err != nil {
		return err
	}
	delete(c.items, id)
	return nil
}

// list returns the objects keep accepts, oldest first (ties by id).
func (c *collection[T, P]) list(keep func(T, string) bool) []T {
	var out []T
	for _, r := range c.items {
		if keep(r.Object, r.ProgramID) {
			out = append(out, r.Object)
		}
	}
	slices.SortFunc(out, func(a, b T) int {
		ma, mb := P(&a).meta(), P(&b).meta()
		return cmp.Or(cmp.Compare(ma.CreatedDateTime, mb.CreatedDateTime), cmp.Compare(ma.ID, mb.ID))
	})
	return out
}
