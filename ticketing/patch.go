package ticketing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Bounds on what a responder may write, in bytes.
const (
	MaxCommentLen    = 16 << 10
	MaxResolutionLen = 4 << 10
	MaxNameLen       = 256
)

// Patch is a responder's change to an incident. Nil and empty fields
// leave the incident as it is.
//
// Status transitions: open and acknowledged may go to each other and to
// resolved; resolved may go back to open (reopen) but not straight to
// acknowledged. Resolving needs a Resolution. Resolution alone rewrites
// the text of an incident that is already resolved. Setting a status the
// incident already has changes nothing.
type Patch struct {
	Status *schemas.Status
	// Assignee sets the assignee; a pointer to "" unassigns.
	Assignee   *string
	Comment    string
	Resolution string
}

// InvalidPatchError says that a patch is malformed whatever the
// incident's state: the API answers 400.
type InvalidPatchError struct{ Reason string }

func (e *InvalidPatchError) Error() string { return "invalid patch: " + e.Reason }

// TransitionError says that a well-formed patch does not apply to the
// incident in its current state: the API answers 409.
type TransitionError struct {
	ID       string
	From, To schemas.Status
	Reason   string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot move incident %s from %s to %s: %s", e.ID, e.From, e.To, e.Reason)
}

// Validate checks p and the actor without looking at any incident.
func (p *Patch) Validate(actor string) error {
	if p.Status == nil && p.Assignee == nil && p.Comment == "" && p.Resolution == "" {
		return &InvalidPatchError{"nothing to change: set status, assignee, comment or resolution"}
	}
	if p.Status != nil {
		if _, err := schemas.ParseStatus(string(*p.Status)); err != nil {
			return &InvalidPatchError{err.Error()}
		}
	}
	switch {
	case strings.TrimSpace(actor) == "":
		return &InvalidPatchError{"actor is empty"}
	case actor == ActorAuto || strings.HasPrefix(actor, "rule:"):
		return &InvalidPatchError{fmt.Sprintf("actor %q is reserved for tocsin itself", actor)}
	case len(actor) > MaxNameLen:
		return &InvalidPatchError{fmt.Sprintf("actor is longer than %d bytes", MaxNameLen)}
	case p.Assignee != nil && len(*p.Assignee) > MaxNameLen:
		return &InvalidPatchError{fmt.Sprintf("assignee is longer than %d bytes", MaxNameLen)}
	case len(p.Comment) > MaxCommentLen:
		return &InvalidPatchError{fmt.Sprintf("comment is longer than %d bytes", MaxCommentLen)}
	case len(p.Resolution) > MaxResolutionLen:
		return &InvalidPatchError{fmt.Sprintf("resolution is longer than %d bytes", MaxResolutionLen)}
	case p.Status != nil && *p.Status == schemas.StatusResolved && strings.TrimSpace(p.Resolution) == "":
		return &InvalidPatchError{"resolving needs a resolution"}
	case p.Status != nil && *p.Status != schemas.StatusResolved && p.Resolution != "":
		return &InvalidPatchError{"a resolution goes only with status resolved"}
	}
	return nil
}

// Patch applies p to incident id on behalf of actor and returns the
// incident as it now is, comments included. Errors: ErrNotFound,
// *InvalidPatchError, *TransitionError, or a store failure.
func (m *Manager) Patch(ctx context.Context, id string, p Patch, actor string) (schemas.Incident, error) {
	if err := p.Validate(actor); err != nil {
		return schemas.Incident{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return schemas.Incident{}, ErrClosed
	}
	cur, err := m.store.Incident(ctx, id)
	if err != nil {
		if !isNotFound(err) {
			m.met.storeErrors.Inc()
		}
		return schemas.Incident{}, fmt.Errorf("cannot read incident %s: %w", id, err)
	}
	tx := m.begin()
	r := tx.touch(&cur)
	if err := m.applyPatch(tx, r, &p, actor); err != nil {
		return schemas.Incident{}, err
	}
	if len(m.batch.Changes) == 0 && p.Comment == "" {
		m.batch.Reset()
		return cur.Incident, nil
	}
	r.UpdatedAt = tx.now
	comments := cur.Comments
	if p.Comment != "" {
		c := schemas.Comment{Author: actor, Text: p.Comment, At: tx.now}
		m.batch.Comments = append(m.batch.Comments, CommentRecord{IncidentID: r.ID, Comment: c})
		comments = append(comments, c)
	}
	if err := m.commit(ctx, tx); err != nil {
		return schemas.Incident{}, err
	}
	out := r.Incident
	out.Comments = comments
	return out, nil
}

func (m *Manager) applyPatch(tx *txn, r *IncidentRecord, p *Patch, actor string) error {
	if p.Status != nil && *p.Status != r.Status {
		from, to := r.Status, *p.Status
		switch {
		case to == schemas.StatusResolved:
			tx.setStatus(r, to, actor)
			r.ResolvedAt = tx.now
			tx.change(r, "resolution", r.Resolution, p.Resolution, actor)
			r.Resolution = p.Resolution
		case from == schemas.StatusResolved && to == schemas.StatusAcknowledged:
			return &TransitionError{ID: r.ID, From: from, To: to, Reason: "reopen it first"}
		case from == schemas.StatusResolved:
			if other, ok := m.active[recordKey(r)]; ok && other.ID != r.ID {
				return &TransitionError{ID: r.ID, From: from, To: to,
					Reason: other.ID + " is already active for the same rule and group key"}
			}
			tx.setStatus(r, to, actor)
			r.ResolvedAt = time.Time{}
			tx.change(r, "resolution", r.Resolution, "", actor)
			r.Resolution = ""
			// A reopened incident gets a full quiet period from now,
			// or it would be resolved again by the next sweep.
			if tx.now.After(r.QuietFrom) {
				r.QuietFrom = tx.now
			}
		default:
			tx.setStatus(r, to, actor)
		}
	} else if p.Resolution != "" && p.Resolution != r.Resolution {
		if r.Status != schemas.StatusResolved {
			return &InvalidPatchError{"a resolution goes only with status resolved"}
		}
		tx.change(r, "resolution", r.Resolution, p.Resolution, actor)
		r.Resolution = p.Resolution
	}
	if p.Assignee != nil && *p.Assignee != r.Assignee {
		tx.change(r, "assignee", r.Assignee, *p.Assignee, actor)
		r.Assignee = *p.Assignee
	}
	return nil
}
