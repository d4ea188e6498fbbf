package adminapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// KVValue is the JSON of one key-value value (base64 in JSON).
type KVValue struct {
	Value []byte `json:"value"`
}

// KVKeys is the JSON of a key listing.
type KVKeys struct {
	Keys []string `json:"keys"`
}

// kvPath escapes the namespace and the key as one path segment each. A
// slash is escaped too, and so are dots, so that a key such as "a//b" or
// ".." is never cleaned or redirected by the server's router.
func kvPath(namespace, key string) string {
	p := "/admin/v1/kv/" + segment(namespace)
	if key != "" {
		p += "/" + segment(key)
	}
	return p
}

func segment(s string) string { return strings.ReplaceAll(url.PathEscape(s), ".", "%2E") }

// KVGet returns the value of key in namespace; a missing key gives an error
// matching ErrNotFound.
func (c *Client) KVGet(ctx context.Context, namespace, key string) ([]byte, error) {
	var out KVValue
	if err := c.Do(ctx, http.MethodGet, kvPath(namespace, key), nil, &out); err != nil {
		return nil, err
	}
	if out.Value == nil {
		out.Value = []byte{}
	}
	return out.Value, nil
}

// KVSet stores value under key in namespace.
func (c *Client) KVSet(ctx context.Context, namespace, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return c.Do(ctx, http.MethodPut, kvPath(namespace, key), KVValue{Value: value}, nil)
}

// KVDelete removes key from namespace; a missing key is not an error.
func (c *Client) KVDelete(ctx context.Context, namespace, key string) error {
	return c.Do(ctx, http.MethodDelete, kvPath(namespace, key), nil, nil)
}

// KVList returns the keys of namespace that start with prefix, sorted.
func (c *Client) KVList(ctx context.Context, namespace, prefix string) ([]string, error) {
	var out KVKeys
	path := kvPath(namespace, "") + "?prefix=" + url.QueryEscape(prefix)
	if err := c.Do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	if out.Keys == nil {
		out.Keys = []string{}
	}
	return out.Keys, nil
}
