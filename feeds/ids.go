package feeds

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
)

// The one policy for the ids feedrelay publishes: an entry keeps its
// original id when that is an absolute IRI; everything else (entries whose
// id is not, the feeds we publish) gets a tag: URI (RFC 4151) under our own
// authority. An id never changes once published: storage keeps the entry id
// an item was first given, and a feed's id is fixed by its path.

// defaultTagAuthority is the authority when base_url names no host: .invalid
// is reserved (RFC 2606), so it can clash with nobody's.
const defaultTagAuthority = "feedrelay.invalid"

// TagAuthority is the authority of the tag: URIs minted under baseURL: its
// host, or "feedrelay.invalid" when it names none.
func TagAuthority(baseURL string) string {
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return defaultTagAuthority
}

// TagURI is the tag: URI (RFC 4151) "tag:authority,date:specific". date is
// a day (2006-01-02) or a year on which authority was ours; specific names
// the thing under it. An empty authority is "feedrelay.invalid".
func TagURI(authority, date, specific string) string {
	if authority == "" {
		authority = defaultTagAuthority
	}
	return "tag:" + authority + "," + date + ":" + specific
}

// EntryID is the Atom <id> of it when it is first stored, seen at seen:
// its original id when that is an absolute IRI and identifies it alone,
// else a tag: URI from the source's authority, the day it was first seen,
// the source and a hash of the item's identity. (A feed that reuses one
// guid for several posts gives each an identity of its own: they must not
// be published under one id, which readers take for one entry.)
func (src *Source) EntryID(it *Item, seen time.Time) string {
	if isAbsoluteIRI(it.GUID) && it.Identity == it.GUID {
		return it.GUID
	}
	sum := sha256.Sum256([]byte(it.Identity))
	// TagURI(src.TagAuthority, day, src.Slug+"/"+hex(sum[:12])), built
	// in one buffer: one allocation an item, not four.
	authority := src.TagAuthority
	if authority == "" {
		authority = defaultTagAuthority
	}
	var stack [128]byte
	b := append(stack[:0], "tag:"...)
	b = append(b, authority...)
	b = append(b, ',')
	b = seen.UTC().AppendFormat(b, "2006-01-02")
	b = append(b, ':')
	b = append(b, src.Slug...)
	b = append(b, '/')
	b = hex.AppendEncode(b, sum[:12])
	return string(b)
}

func isAbsoluteIRI(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\n<>\"") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return false
	}
	// "http:" alone or "urn:" with nothing after it identifies nothing.
	return u.Opaque != "" || u.Host != "" || u.Path != ""
}
