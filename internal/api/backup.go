package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tsingma/tsingma/internal/audit"
	"github.com/tsingma/tsingma/internal/auth"
	"github.com/tsingma/tsingma/internal/backup"
	"github.com/tsingma/tsingma/internal/telemetry"
)

// getBackup streams a backup of the whole platform as a tar file: every
// tenant's data, token hashes and the audit log's signing key, so only
// an admin of the default tenant (the installation's own, which the
// bootstrap token is) may take one. A failure half way aborts the
// response, so a client never keeps a cut tar as if it were whole; the
// backup is recorded in the audit log with who took it.
func (s *Server) getBackup(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Backup == nil {
		return errorf("unavailable", "backups are not available in this configuration")
	}
	p := principalOf(r)
	if s.cfg.Auth != nil && (p.Role != auth.Admin || p.Tenant != telemetry.DefaultTenant) {
		return errorf("forbidden", "a backup holds every tenant's data: only an admin of the default tenant may take one")
	}
	start := s.cfg.Now()
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="tsingma-backup-%s.tar"`, start.UTC().Format("20060102T150405Z")))
	w.Header().Set("Cache-Control", "no-store")
	tw := backup.NewTar(w)
	err := s.cfg.Backup(r.Context(), tw)
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		s.log.Error("backup failed", "err", err)
		panic(http.ErrAbortHandler) // the status is sent: end the response unfinished
	}
	files, bytes := tw.Counts()
	s.log.Info("backup taken", "by", p.Name, "files", files, "bytes", bytes, "took", time.Since(start))
	if s.cfg.Govern != nil {
		data, _ := json.Marshal(map[string]any{"files": files, "bytes": bytes})
		ev := audit.Event{Tenant: telemetry.DefaultTenant, Kind: "backup.taken", Actor: p.Name, Data: data}
		if _, err := s.cfg.Govern.AuditLog().Append(context.WithoutCancel(r.Context()), ev); err != nil {
			s.log.Error("backup taken, but not recorded in the audit log", "err", err)
		}
	}
	return nil
}
