package client

import (
	"container/list"
	"sync"
)

// ObjectCache keeps the data of MSNObjects (display pictures, custom
// emoticons, winks, voice clips) by their SHA1D, so that an object is
// fetched over P2P once. Implementations must be safe for concurrent use;
// the data passed to Put must not be changed afterwards, and what Get
// returns must not be changed by the caller.
type ObjectCache interface {
	Get(sha1d string) ([]byte, bool)
	Put(sha1d string, data []byte)
}

// MemoryCache is an ObjectCache in memory that forgets the least recently
// used objects beyond a total size.
type MemoryCache struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // of *cacheEntry, most recent first
	index map[string]*list.Element
}

type cacheEntry struct {
	key  string
	data []byte
}

// NewMemoryCache returns a MemoryCache holding at most maxBytes of data.
func NewMemoryCache(maxBytes int) *MemoryCache {
	return &MemoryCache{max: maxBytes, order: list.New(), index: map[string]*list.Element{}}
}

// Get returns an object's data.
func (c *MemoryCache) Get(sha1d string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.index[sha1d]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).data, true
}

// Put keeps an object's data; data larger than the whole cache is not kept.
func (c *MemoryCache) Put(sha1d string, data []byte) {
	if len(data) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.index[sha1d]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.index[sha1d] = c.order.PushFront(&cacheEntry{sha1d, data})
	c.size += len(data)
	for c.size > c.max {
		e := c.order.Back()
		ent := e.Value.(*cacheEntry)
		c.order.Remove(e)
		delete(c.index, ent.key)
		c.size -= len(ent.data)
	}
}
