package emulator

import (
	"io"
	"net/http"
)

// serveAdmin serves /emulator/: health, stats and fault rules. These
// endpoints need no token, are not counted and are never faulted or slowed.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request, path string) {
	type route struct{ path, method string }
	switch (route{path, r.Method}) {
	case route{"/emulator/health", http.MethodGet}:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case route{"/emulator/stats", http.MethodGet}:
		writeJSON(w, http.StatusOK, s.Stats())
	case route{"/emulator/stats/reset", http.MethodPost}:
		s.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	case route{"/emulator/faults", http.MethodGet}:
		writeJSON(w, http.StatusOK, s.Faults())
	case route{"/emulator/faults", http.MethodPost}:
		s.postFaults(w, r)
	case route{"/emulator/faults", http.MethodDelete}:
		s.SetFaults(nil)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeReason(w, adminStatus(path), "Unknown emulator endpoint or method")
	}
}

// adminStatus is 405 for a known path with the wrong method, else 404.
func adminStatus(path string) int {
	switch path {
	case "/emulator/health", "/emulator/stats", "/emulator/stats/reset", "/emulator/faults":
		return http.StatusMethodNotAllowed
	}
	return http.StatusNotFound
}

// postFaults replaces the rules with a JSON array and answers the new set.
func (s *Server) postFaults(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeReason(w, http.StatusBadRequest, err.Error())
		return
	}
	rules, err := ParseFaults(data)
	if err != nil {
		writeReason(w, http.StatusBadRequest, err.Error())
		return
	}
	s.faults.set(rules)
	writeJSON(w, http.StatusOK, s.Faults())
}
