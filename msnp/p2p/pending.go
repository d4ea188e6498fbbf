package p2p

// msgKey names a message being received: its SessionID and what ties its
// chunks together (the Identifier in version 1, the package number in
// version 2).
type msgKey struct{ session, id uint32 }

// openMessages holds the messages being received, at most max at a time
// (16 if 0; the oldest goes for a new one), so that a peer cannot make a
// reader keep unbounded state.
type openMessages[V any] struct {
	m     map[msgKey]V
	order []msgKey
}

func (o *openMessages[V]) get(k msgKey) V { return o.m[k] }

func (o *openMessages[V]) add(k msgKey, v V, max int) {
	if o.m == nil {
		o.m = map[msgKey]V{}
	}
	if max <= 0 {
		max = 16
	}
	for len(o.order) >= max {
		o.remove(o.order[0])
	}
	o.m[k] = v
	o.order = append(o.order, k)
}

func (o *openMessages[V]) remove(k msgKey) {
	if _, ok := o.m[k]; !ok {
		return
	}
	delete(o.m, k)
	for i, x := range o.order {
		if x == k {
			o.order = append(o.order[:i], o.order[i+1:]...)
			return
		}
	}
}

// forget drops the messages of a session, as when a BYE ends it.
func (o *openMessages[V]) forget(session uint32) {
	for _, k := range append([]msgKey(nil), o.order...) {
		if k.session == session {
			o.remove(k)
		}
	}
}
