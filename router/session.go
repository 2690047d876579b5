package router

import (
	"hash/fnv"
	"strconv"

	"github.com/tandem-llm/tandem/backend"
)

// sessionKey identifies a conversation when the client names none: the
// system prompt and the first user message, which every later turn of the
// same chat repeats. A single prompt (completions) has no session.
func sessionKey(req *backend.Request) string {
	if req == nil || len(req.Messages) == 0 {
		return ""
	}
	h := fnv.New64a()
	for _, m := range req.Messages {
		h.Write([]byte(m.Role))
		h.Write([]byte{0})
		h.Write([]byte(m.Content))
		h.Write([]byte{0})
		if m.Role == "user" {
			return "chat-" + strconv.FormatUint(h.Sum64(), 36)
		}
	}
	return ""
}
