package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"time"
)

// This file keeps the original, unoptimised chain-rule implementation
// verbatim (renamed with a ref prefix). The tests and fuzz targets compare
// the optimised AppendCanonical and ComputeHash in event.go against it, so a
// change to the bytes the chain rule produces cannot go unnoticed.

func refAppendCanonical(e *Event, b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = refAppendField(b, "id", e.ID)
	b = refAppendField(b, "time", e.Time.UTC().Format(time.RFC3339Nano))
	b = refAppendField(b, "category", e.Category)
	b = refAppendField(b, "action", e.Action)
	b = refAppendField(b, "actor", e.Actor)
	b = refAppendField(b, "target", e.Target)
	b = refAppendField(b, "request_id", e.RequestID)
	b = refAppendField(b, "result", e.Result)
	b = append(b, `,"metadata":{`...)
	keys := make([]string, 0, len(e.Metadata))
	for k := range e.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = refAppendString(b, k)
		b = append(b, ':')
		b = refAppendString(b, e.Metadata[k])
	}
	b = append(b, '}')
	b = refAppendField(b, "prev_hash", hex.EncodeToString(e.PrevHash))
	return append(b, '}')
}

func refComputeHash(e *Event) []byte {
	var buf [512]byte
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(refAppendCanonical(e, buf[:0]))
	return h.Sum(nil)
}

func refAppendField(b []byte, key, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return refAppendString(b, value)
}

func refAppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
