package alert

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// File layout (bbolt):
//
//	meta/format           "1"
//	meta/seeded           present once the default rules were loaded
//	tenants/<tenant>/rules/<rule id>        Rule JSON
//	tenants/<tenant>/alerts/<uint64 BE id>  Alert JSON
//	tenants/<tenant>/open/<uint64 BE id>    empty: the open alerts
var (
	bucketMeta    = []byte("meta")
	bucketTenants = []byte("tenants")
	bucketRules   = []byte("rules")
	bucketAlerts  = []byte("alerts")
	bucketOpen    = []byte("open")
	keyFormat     = []byte("format")
	keySeeded     = []byte("seeded")
)

const formatVersion = "1"

func idKey(id uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], id)
	return k[:]
}

func parseID(s string) (uint64, bool) {
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil && id > 0 && strconv.FormatUint(id, 10) == s
}

// tenantBucket returns (creating) the tenant's bucket and its children.
func tenantBucket(tx *bolt.Tx, tenant string) (*bolt.Bucket, error) {
	root, err := tx.CreateBucketIfNotExists(bucketTenants)
	if err != nil {
		return nil, err
	}
	tb, err := root.CreateBucketIfNotExists([]byte(tenant))
	if err != nil {
		return nil, err
	}
	for _, name := range [][]byte{bucketRules, bucketAlerts, bucketOpen} {
		if _, err := tb.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	return tb, nil
}

// write is one pending change to the file.
type write struct {
	tenant  string
	alert   *Alert // put (and index as open or not)
	rule    *Rule  // put
	delRule string // delete
}

func applyWrite(tx *bolt.Tx, w write) error {
	tb, err := tenantBucket(tx, w.tenant)
	if err != nil {
		return err
	}
	switch {
	case w.alert != nil:
		id, ok := parseID(w.alert.ID)
		if !ok {
			return fmt.Errorf("alert id %q", w.alert.ID)
		}
		b, err := json.Marshal(w.alert)
		if err != nil {
			return fmt.Errorf("encode alert %s: %w", w.alert.ID, err)
		}
		if err := tb.Bucket(bucketAlerts).Put(idKey(id), b); err != nil {
			return err
		}
		if w.alert.State.Open() {
			return tb.Bucket(bucketOpen).Put(idKey(id), nil)
		}
		return tb.Bucket(bucketOpen).Delete(idKey(id))
	case w.rule != nil:
		b, err := json.Marshal(w.rule)
		if err != nil {
			return fmt.Errorf("encode rule %s: %w", w.rule.ID, err)
		}
		return tb.Bucket(bucketRules).Put([]byte(w.rule.ID), b)
	default:
		return tb.Bucket(bucketRules).Delete([]byte(w.delRule))
	}
}

// pruneHistory deletes the oldest cleared alerts of a tenant until at most
// keep alerts remain; it returns how many it deleted.
func pruneHistory(tx *bolt.Tx, tenant string, stored, keep int) (int, error) {
	tb, err := tenantBucket(tx, tenant)
	if err != nil {
		return 0, err
	}
	open := tb.Bucket(bucketOpen)
	c := tb.Bucket(bucketAlerts).Cursor()
	n := 0
	for k, _ := c.First(); k != nil && stored-n > keep; {
		if open.Get(k) != nil {
			k, _ = c.Next()
			continue
		}
		if err := c.Delete(); err != nil {
			return n, err
		}
		n++
		// Cursor.Delete leaves the cursor before the next key.
		k, _ = c.Seek(k)
	}
	return n, nil
}

// loaded is one tenant as read at Open.
type loaded struct {
	rules  []Rule
	open   []*Alert
	stored int
	maxID  uint64
}

func loadAll(db *bolt.DB) (map[string]*loaded, bool, error) {
	out := map[string]*loaded{}
	seeded := false
	err := db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keyFormat); v == nil {
			if err := meta.Put(keyFormat, []byte(formatVersion)); err != nil {
				return err
			}
		} else if string(v) != formatVersion {
			return fmt.Errorf("file format %q, this build reads %q", v, formatVersion)
		}
		seeded = meta.Get(keySeeded) != nil
		root, err := tx.CreateBucketIfNotExists(bucketTenants)
		if err != nil {
			return err
		}
		return root.ForEachBucket(func(name []byte) error {
			tenant := string(name)
			tb, err := tenantBucket(tx, tenant)
			if err != nil {
				return err
			}
			l := &loaded{}
			out[tenant] = l
			if err := tb.Bucket(bucketRules).ForEach(func(k, v []byte) error {
				var ru Rule
				if err := json.Unmarshal(v, &ru); err != nil {
					return fmt.Errorf("tenant %s rule %s: %w", tenant, k, err)
				}
				l.rules = append(l.rules, ru)
				return nil
			}); err != nil {
				return err
			}
			alerts := tb.Bucket(bucketAlerts)
			l.stored = alerts.Stats().KeyN
			if k, _ := alerts.Cursor().Last(); k != nil {
				l.maxID = binary.BigEndian.Uint64(k)
			}
			return tb.Bucket(bucketOpen).ForEach(func(k, _ []byte) error {
				v := alerts.Get(k)
				if v == nil {
					return fmt.Errorf("tenant %s: open alert %x has no record", tenant, k)
				}
				a := &Alert{}
				if err := json.Unmarshal(v, a); err != nil {
					return fmt.Errorf("tenant %s alert %x: %w", tenant, k, err)
				}
				a.Tenant = tenant
				l.open = append(l.open, a)
				return nil
			})
		})
	})
	return out, seeded, err
}

func getAlert(db *bolt.DB, tenant string, id uint64) (*Alert, error) {
	var a *Alert
	err := db.View(func(tx *bolt.Tx) error {
		tb := tenantBucketRO(tx, tenant)
		if tb == nil {
			return nil
		}
		v := tb.Bucket(bucketAlerts).Get(idKey(id))
		if v == nil {
			return nil
		}
		a = &Alert{}
		if err := json.Unmarshal(v, a); err != nil {
			return fmt.Errorf("decode alert %d: %w", id, err)
		}
		a.Tenant = tenant
		return nil
	})
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, fmt.Errorf("alert %d: %w", id, ErrNotFound)
	}
	return a, nil
}

func tenantBucketRO(tx *bolt.Tx, tenant string) *bolt.Bucket {
	root := tx.Bucket(bucketTenants)
	if root == nil {
		return nil
	}
	return root.Bucket([]byte(tenant))
}
