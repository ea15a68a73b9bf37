package feeds

import (
	"slices"
	"time"
)

// FutureMargin is how far ahead of its poll a date a source gives may be
// and still be taken as given. Beyond it the date is bogus (a year typed
// 2099, a placeholder), and kept it would hold the item on top of every
// feed it is in until then: the item is dated when first seen instead, as
// an undated one is, and the poll warns of it.
//
// A day is wider than any mislabelled zone (a +0800 or +1400 time written
// as GMT is 8 or 14 hours ahead) and any clock skew: such a date is the
// item's real time, misread, which stops being in the future within hours
// and keeps a first poll's items in their order; a day ahead, no zone
// explains it. The feeds' Last-Modified does not depend on any source's
// dates (see storage.Entry.Changed), so an item within the margin moves no
// validator either.
const FutureMargin = 24 * time.Hour

// clampFuture dates when first seen (a zero date: storage stamps the poll,
// and keeps that stamp while the item is unchanged) each date of f more
// than FutureMargin after polled, its feed's own updated included. It runs
// once the items are normalized and identified: their content hash and
// identity are of the dates the source gave, so the clamp makes no item
// changed at the next poll, where the same dates are clamped the same way.
// It returns the warning of what it clamped, one per field; inFeed says
// the dates are a feed's, not a scraped page's fields.
func clampFuture(f *Feed, polled time.Time, inFeed bool) []UnreadDates {
	limit := polled.Add(FutureMargin)
	pub := UnreadDates{Field: "published", Future: true, InFeed: inFeed}
	upd := UnreadDates{Field: "updated", Future: true, InFeed: inFeed}
	clamp := func(t *time.Time, into *UnreadDates) {
		if !t.After(limit) {
			return
		}
		into.Count++
		if s := t.UTC().Format(time.RFC3339); len(into.Examples) < maxDateExamples && !slices.Contains(into.Examples, s) {
			into.Examples = append(into.Examples, s)
		}
		*t = time.Time{}
	}
	for i := range f.Items {
		clamp(&f.Items[i].Published, &pub)
		clamp(&f.Items[i].Updated, &upd)
	}
	feed := UnreadDates{Field: "the feed's updated", Future: true, InFeed: true}
	clamp(&f.Updated, &feed)
	var out []UnreadDates
	for _, u := range []UnreadDates{pub, upd, feed} {
		if u.Count > 0 {
			out = append(out, u)
		}
	}
	return out
}
