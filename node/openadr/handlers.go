package openadr

import "net/http"

// Operations named as the specification's notification operations.
const (
	opCreate = "CREATE"
	opUpdate = "UPDATE"
	opDelete = "DELETE"
)

func notFound(kind, id string) error {
	return refuse(http.StatusNotFound, "not_found", "%s %s: not found", kind, id)
}

// ---- programs

func (v *VTN) listPrograms(w http.ResponseWriter, r *http.Request, c claims) {
	skip, limit, err := page(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	want := queryTargets(r)
	v.mu.Lock()
	out := v.programs.list(func(p Program, _ string) bool {
		return v.seesTargeted(c, p.Targets) && matchTargets(want, p.Targets)
	})
	v.mu.Unlock()
	writeJSON(w, http.StatusOK, paginate(out, skip, limit))
}

func (v *VTN) getProgram(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	p, ok := v.programs.get(r.PathValue("id"))
	sees := ok && v.seesTargeted(c, p.Targets)
	v.mu.Unlock()
	switch {
	case !ok:
		v.failErr(w, r, notFound("program", r.PathValue("id")))
	case !sees:
		v.fail(w, r, http.StatusForbidden, "not_targeted", "program "+p.ID+" is not targeted at this client")
	default:
		writeJSON(w, http.StatusOK, p)
	}
}

// programNameTaken: the specification leaves a second program of the
// same name to the implementation; this VTN refuses it (409) so
// programName identifies a program.
func (v *VTN) programNameTaken(name, except string) bool {
	return len(v.programs.list(func(p Program, _ string) bool { return p.ProgramName == name && p.ID != except })) > 0
}

func (v *VTN) createProgram(w http.ResponseWriter, r *http.Request, _ claims) {
	b, err := readBody(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	p, err := DecodeProgram(b)
	if err != nil {
		v.failErr(w, r, badBody(err))
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.programNameTaken(p.ProgramName, "") {
		v.failErr(w, r, refuse(http.StatusConflict, "duplicate_name", "programName %q is taken", p.ProgramName))
		return
	}
	p.Meta = v.newMeta(TypeProgram)
	if err := v.programs.put(p, p.ID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeProgram, opCreate, p, p.ID, p.Targets)
	writeJSON(w, http.StatusCreated, p)
}

func (v *VTN) updateProgram(w http.ResponseWriter, r *http.Request, _ claims) {
	b, err := readBody(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	p, err := DecodeProgram(b)
	if err != nil {
		v.failErr(w, r, badBody(err))
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := v.programs.get(r.PathValue("id"))
	switch {
	case !ok:
		v.failErr(w, r, notFound("program", r.PathValue("id")))
		return
	case v.programNameTaken(p.ProgramName, old.ID):
		v.failErr(w, r, refuse(http.StatusConflict, "duplicate_name", "programName %q is taken", p.ProgramName))
		return
	}
	p.Meta = v.touch(old.Meta)
	if err := v.programs.put(p, p.ID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeProgram, opUpdate, p, p.ID, p.Targets)
	writeJSON(w, http.StatusOK, p)
}

// deleteProgram deletes the program and its events (an event cannot
// outlive its program).
func (v *VTN) deleteProgram(w http.ResponseWriter, r *http.Request, _ claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	p, ok := v.programs.get(r.PathValue("id"))
	if !ok {
		v.failErr(w, r, notFound("program", r.PathValue("id")))
		return
	}
	for _, e := range v.events.list(func(e Event, _ string) bool { return e.ProgramID == p.ID }) {
		if err := v.events.delete(e.ID); err != nil {
			v.failErr(w, r, err)
			return
		}
		v.notifyLocked(TypeEvent, opDelete, e, e.ProgramID, e.Targets)
	}
	if err := v.programs.delete(p.ID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeProgram, opDelete, p, p.ID, p.Targets)
	writeJSON(w, http.StatusOK, p)
}

// ---- events

func (v *VTN) listEvents(w http.ResponseWriter, r *http.Request, c claims) {
	skip, limit, err := page(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	q := r.URL.Query()
	want, program := queryTargets(r), q.Get("programID")
	active := q.Get("active")
	if active != "" && active != "true" && active != "false" {
		v.failErr(w, r, refuse(http.StatusBadRequest, "invalid_query", "active %q: want true or false", active))
		return
	}
	now := v.clock.Now()
	v.mu.Lock()
	out := v.events.list(func(e Event, _ string) bool {
		return (program == "" || e.ProgramID == program) && v.seesEvent(c, e) &&
			matchTargets(want, e.Targets) && (active != "true" || !eventOver(e, now))
	})
	v.mu.Unlock()
	writeJSON(w, http.StatusOK, paginate(out, skip, limit))
}

func (v *VTN) getEvent(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	e, ok := v.events.get(r.PathValue("id"))
	sees := ok && v.seesEvent(c, e)
	v.mu.Unlock()
	switch {
	case !ok:
		v.failErr(w, r, notFound("event", r.PathValue("id")))
	case !sees:
		v.fail(w, r, http.StatusForbidden, "not_targeted", "event "+e.ID+" is not targeted at this client")
	default:
		writeJSON(w, http.StatusOK, e)
	}
}

// programMissing: an event names a program that does not exist. The
// specification's 409 is "a violation of a foreign key constraint".
func programMissing(id string) error {
	return refuse(http.StatusConflict, "unknown_program", "programID %s: no such program", id)
}

func (v *VTN) createEvent(w http.ResponseWriter, r *http.Request, _ claims) {
	b, err := readBody(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	e, err := DecodeEvent(b)
	if err != nil {
		v.failErr(w, r, badBody(err))
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	p, ok := v.programs.get(e.ProgramID)
	if !ok {
		v.failErr(w, r, programMissing(e.ProgramID))
		return
	}
	e.Meta = v.newMeta(TypeEvent)
	if err := v.events.put(e, e.ProgramID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeEvent, opCreate, e, e.ProgramID, e.Targets)
	v.toMarketLocked(r.Context(), p, e)
	writeJSON(w, http.StatusCreated, e)
}

// updateEvent stores the new event. Requests already published for it
// stay as they are: the market has no withdrawal yet.
func (v *VTN) updateEvent(w http.ResponseWriter, r *http.Request, _ claims) {
	b, err := readBody(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	e, err := DecodeEvent(b)
	if err != nil {
		v.failErr(w, r, badBody(err))
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := v.events.get(r.PathValue("id"))
	if !ok {
		v.failErr(w, r, notFound("event", r.PathValue("id")))
		return
	}
	if _, ok := v.programs.get(e.ProgramID); !ok {
		v.failErr(w, r, programMissing(e.ProgramID))
		return
	}
	e.Meta = v.touch(old.Meta)
	if err := v.events.put(e, e.ProgramID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeEvent, opUpdate, e, e.ProgramID, e.Targets)
	writeJSON(w, http.StatusOK, e)
}

func (v *VTN) deleteEvent(w http.ResponseWriter, r *http.Request, _ claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.events.get(r.PathValue("id"))
	if !ok {
		v.failErr(w, r, notFound("event", r.PathValue("id")))
		return
	}
	if err := v.events.delete(e.ID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeEvent, opDelete, e, e.ProgramID, e.Targets)
	writeJSON(w, http.StatusOK, e)
}

// ---- reports

func (v *VTN) listReports(w http.ResponseWriter, r *http.Request, c claims) {
	skip, limit, err := page(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	q := r.URL.Query()
	program, event, name := q.Get("programID"), q.Get("eventID"), q.Get("clientName")
	v.mu.Lock()
	out := v.reports.list(func(x Report, pid string) bool {
		return ownsOrReadsAll(c, x.ClientID) && (program == "" || pid == program) &&
			(event == "" || x.EventID == event) && (name == "" || x.ClientName == name)
	})
	v.mu.Unlock()
	writeJSON(w, http.StatusOK, paginate(out, skip, limit))
}

func (v *VTN) getReport(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	x, ok := v.reports.get(r.PathValue("id"))
	v.mu.Unlock()
	switch {
	case !ok:
		v.failErr(w, r, notFound("report", r.PathValue("id")))
	case !ownsOrReadsAll(c, x.ClientID):
		v.fail(w, r, http.StatusForbidden, "not_owner", "report "+x.ID+" belongs to another client")
	default:
		writeJSON(w, http.StatusOK, x)
	}
}

func (v *VTN) createReport(w http.ResponseWriter, r *http.Request, c claims) {
	b, err := readBody(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	x, err := DecodeReport(b)
	if err != nil {
		v.failErr(w, r, badBody(err))
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.events.get(x.EventID)
	if !ok {
		v.failErr(w, r, refuse(http.StatusConflict, "unknown_event", "eventID %s: no such event", x.EventID))
		return
	}
	if !v.seesEvent(c, e) {
		v.fail(w, r, http.StatusForbidden, "not_targeted", "event "+e.ID+" is not targeted at this client")
		return
	}
	x.Meta, x.ClientID = v.newMeta(TypeReport), c.Client
	if err := v.reports.put(x, e.ProgramID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeReport, opCreate, x, e.ProgramID, nil)
	writeJSON(w, http.StatusCreated, x)
}

func (v *VTN) updateReport(w http.ResponseWriter, r *http.Request, c claims) {
	b, err := readBody(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	x, err := DecodeReport(b)
	if err != nil {
		v.failErr(w, r, badBody(err))
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := v.reports.get(r.PathValue("id"))
	switch {
	case !ok:
		v.failErr(w, r, notFound("report", r.PathValue("id")))
		return
	case old.ClientID != c.Client:
		v.fail(w, r, http.StatusForbidden, "not_owner", "report "+old.ID+" belongs to another client")
		return
	}
	e, ok := v.events.get(x.EventID)
	if !ok {
		v.failErr(w, r, refuse(http.StatusConflict, "unknown_event", "eventID %s: no such event", x.EventID))
		return
	}
	x.Meta, x.ClientID = v.touch(old.Meta), old.ClientID
	if err := v.reports.put(x, e.ProgramID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeReport, opUpdate, x, e.ProgramID, nil)
	writeJSON(w, http.StatusOK, x)
}

func (v *VTN) deleteReport(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	x, ok := v.reports.get(r.PathValue("id"))
	switch {
	case !ok:
		v.failErr(w, r, notFound("report", r.PathValue("id")))
		return
	case x.ClientID != c.Client:
		v.fail(w, r, http.StatusForbidden, "not_owner", "report "+x.ID+" belongs to another client")
		return
	}
	pid := v.reports.programOf(x.ID)
	if err := v.reports.delete(x.ID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeReport, opDelete, x, pid, nil)
	writeJSON(w, http.StatusOK, x)
}

// ---- subscriptions

func (v *VTN) listSubscriptions(w http.ResponseWriter, r *http.Request, c claims) {
	skip, limit, err := page(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	q := r.URL.Query()
	program, name, objects := q.Get("programID"), q.Get("clientName"), q["objects"]
	v.mu.Lock()
	out := v.subscriptions.list(func(s Subscription, _ string) bool {
		if !ownsOrReadsAll(c, s.ClientID) || program != "" && s.ProgramID != program || name != "" && s.ClientName != name {
			return false
		}
		if len(objects) == 0 {
			return true
		}
		for _, oo := range s.ObjectOperations {
			if intersects(objects, oo.Objects) {
				return true
			}
		}
		return false
	})
	v.mu.Unlock()
	writeJSON(w, http.StatusOK, paginate(out, skip, limit))
}

func (v *VTN) getSubscription(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	s, ok := v.subscriptions.get(r.PathValue("id"))
	v.mu.Unlock()
	switch {
	case !ok:
		v.failErr(w, r, notFound("subscription", r.PathValue("id")))
	case !ownsOrReadsAll(c, s.ClientID):
		v.fail(w, r, http.StatusForbidden, "not_owner", "subscription "+s.ID+" belongs to another client")
	default:
		writeJSON(w, http.StatusOK, s)
	}
}

// checkSubscription refuses callbacks the notifier cannot post to and
// programs that do not exist. Caller holds v.mu.
func (v *VTN) checkSubscription(s Subscription) error {
	if s.ProgramID != "" {
		if _, ok := v.programs.get(s.ProgramID); !ok {
			return programMissing(s.ProgramID)
		}
	}
	for i, oo := range s.ObjectOperations {
		if err := checkCallback(oo.CallbackURL); err != nil {
			return refuse(http.StatusBadRequest, "invalid_callback", "objectOperations[%d].callbackUrl: %v", i, err)
		}
	}
	return nil
}

func (v *VTN) createSubscription(w http.ResponseWriter, r *http.Request, c claims) {
	b, err := readBody(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	s, err := DecodeSubscription(b)
	if err != nil {
		v.failErr(w, r, badBody(err))
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.checkSubscription(s); err != nil {
		v.failErr(w, r, err)
		return
	}
	s.Meta, s.ClientID = v.newMeta(TypeSubscription), c.Client
	if err := v.subscriptions.put(s, s.ProgramID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeSubscription, opCreate, s, s.ProgramID, s.Targets)
	writeJSON(w, http.StatusCreated, s)
}

func (v *VTN) updateSubscription(w http.ResponseWriter, r *http.Request, c claims) {
	b, err := readBody(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	s, err := DecodeSubscription(b)
	if err != nil {
		v.failErr(w, r, badBody(err))
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := v.subscriptions.get(r.PathValue("id"))
	switch {
	case !ok:
		v.failErr(w, r, notFound("subscription", r.PathValue("id")))
		return
	case !ownsOrReadsAll(c, old.ClientID):
		v.fail(w, r, http.StatusForbidden, "not_owner", "subscription "+old.ID+" belongs to another client")
		return
	}
	if err := v.checkSubscription(s); err != nil {
		v.failErr(w, r, err)
		return
	}
	s.Meta, s.ClientID = v.touch(old.Meta), old.ClientID
	if err := v.subscriptions.put(s, s.ProgramID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeSubscription, opUpdate, s, s.ProgramID, s.Targets)
	writeJSON(w, http.StatusOK, s)
}

func (v *VTN) deleteSubscription(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s, ok := v.subscriptions.get(r.PathValue("id"))
	switch {
	case !ok:
		v.failErr(w, r, notFound("subscription", r.PathValue("id")))
		return
	case !ownsOrReadsAll(c, s.ClientID):
		v.fail(w, r, http.StatusForbidden, "not_owner", "subscription "+s.ID+" belongs to another client")
		return
	}
	if err := v.subscriptions.delete(s.ID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeSubscription, opDelete, s, s.ProgramID, s.Targets)
	writeJSON(w, http.StatusOK, s)
}

// ---- vens

func (v *VTN) listVens(w http.ResponseWriter, r *http.Request, c claims) {
	skip, limit, err := page(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	name, want := r.URL.Query().Get("venName"), queryTargets(r)
	v.mu.Lock()
	out := v.vens.list(func(x Ven, _ string) bool {
		return ownsOrReadsAll(c, x.ClientID) && (name == "" || x.VenName == name) && matchTargets(want, x.Targets)
	})
	v.mu.Unlock()
	writeJSON(w, http.StatusOK, paginate(out, skip, limit))
}

func (v *VTN) getVen(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	x, ok := v.vens.get(r.PathValue("id"))
	v.mu.Unlock()
	switch {
	case !ok:
		v.failErr(w, r, notFound("ven", r.PathValue("id")))
	case !ownsOrReadsAll(c, x.ClientID):
		v.fail(w, r, http.StatusForbidden, "not_owner", "ven "+x.ID+" belongs to another client")
	default:
		writeJSON(w, http.StatusOK, x)
	}
}

// venFromRequest applies who may set what: BL sends BL_VEN_REQUEST (it
// names the VEN's clientID and grants targets); a VEN sends
// VEN_VEN_REQUEST and the ven is its own, with the targets BL granted
// (old, on update) and no others.
func venFromRequest(c claims, x Ven, old *Ven) (Ven, error) {
	switch {
	case c.Role == RoleBL && x.ObjectType != BlVenRequest:
		return x, refuse(http.StatusBadRequest, "wrong_request_type", "business logic writes vens with objectType %s", BlVenRequest)
	case c.Role == RoleVEN && x.ObjectType == BlVenRequest:
		return x, refuse(http.StatusForbidden, "ven_grants_targets", "a VEN cannot send %s: only business logic sets a ven's clientID and targets", BlVenRequest)
	case c.Role == RoleVEN:
		x.ClientID, x.Targets = c.Client, nil
		if old != nil {
			x.Targets = old.Targets
		}
	}
	x.ObjectType = TypeVen
	return x, nil
}

func (v *VTN) venNameTaken(name, except string) bool {
	return len(v.vens.list(func(x Ven, _ string) bool { return x.VenName == name && x.ID != except })) > 0
}

func (v *VTN) createVen(w http.ResponseWriter, r *http.Request, c claims) {
	b, err := readBody(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	x, err := DecodeVen(b)
	if err != nil {
		v.failErr(w, r, badBody(err))
		return
	}
	if x, err = venFromRequest(c, x, nil); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.venNameTaken(x.VenName, "") {
		// POST /vens has no 409 in the specification; a taken name is a
		// bad request.
		v.failErr(w, r, refuse(http.StatusBadRequest, "duplicate_name", "venName %q is taken (venName is unique within a VTN)", x.VenName))
		return
	}
	x.Meta = v.newMeta(TypeVen)
	if err := v.vens.put(x, ""); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeVen, opCreate, x, "", x.Targets)
	writeJSON(w, http.StatusCreated, x)
}

func (v *VTN) updateVen(w http.ResponseWriter, r *http.Request, c claims) {
	b, err := readBody(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	x, err := DecodeVen(b)
	if err != nil {
		v.failErr(w, r, badBody(err))
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := v.vens.get(r.PathValue("id"))
	switch {
	case !ok:
		v.failErr(w, r, notFound("ven", r.PathValue("id")))
		return
	case !ownsOrReadsAll(c, old.ClientID):
		v.fail(w, r, http.StatusForbidden, "not_owner", "ven "+old.ID+" belongs to another client")
		return
	}
	if x, err = venFromRequest(c, x, &old); err != nil {
		v.failErr(w, r, err)
		return
	}
	if v.venNameTaken(x.VenName, old.ID) {
		v.failErr(w, r, refuse(http.StatusConflict, "duplicate_name", "venName %q is taken", x.VenName))
		return
	}
	x.Meta = v.touch(old.Meta)
	if err := v.vens.put(x, ""); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeVen, opUpdate, x, "", x.Targets)
	writeJSON(w, http.StatusOK, x)
}

// deleteVen deletes the ven and its resources.
func (v *VTN) deleteVen(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	x, ok := v.vens.get(r.PathValue("id"))
	switch {
	case !ok:
		v.failErr(w, r, notFound("ven", r.PathValue("id")))
		return
	case !ownsOrReadsAll(c, x.ClientID):
		v.fail(w, r, http.StatusForbidden, "not_owner", "ven "+x.ID+" belongs to another client")
		return
	}
	for _, res := range v.resources.list(func(res Resource, _ string) bool { return res.VenID == x.ID }) {
		if err := v.resources.delete(res.ID); err != nil {
			v.failErr(w, r, err)
			return
		}
		v.notifyLocked(TypeResource, opDelete, res, "", res.Targets)
	}
	if err := v.vens.delete(x.ID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeVen, opDelete, x, "", x.Targets)
	writeJSON(w, http.StatusOK, x)
}

// ---- resources

func (v *VTN) listResources(w http.ResponseWriter, r *http.Request, c claims) {
	skip, limit, err := page(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	q := r.URL.Query()
	name, ven, want := q.Get("resourceName"), q.Get("venID"), queryTargets(r)
	v.mu.Lock()
	out := v.resources.list(func(x Resource, _ string) bool {
		return ownsOrReadsAll(c, x.ClientID) && (name == "" || x.ResourceName == name) &&
			(ven == "" || x.VenID == ven) && matchTargets(want, x.Targets)
	})
	v.mu.Unlock()
	writeJSON(w, http.StatusOK, paginate(out, skip, limit))
}

func (v *VTN) getResource(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	x, ok := v.resources.get(r.PathValue("id"))
	v.mu.Unlock()
	switch {
	case !ok:
		v.failErr(w, r, notFound("resource", r.PathValue("id")))
	case !ownsOrReadsAll(c, x.ClientID):
		v.fail(w, r, http.StatusForbidden, "not_owner", "resource "+x.ID+" belongs to another client")
	default:
		writeJSON(w, http.StatusOK, x)
	}
}

// resourceFromRequest: as venFromRequest. The resource belongs to its
// ven's client; a VEN may only add resources to its own vens. Caller
// holds v.mu.
func (v *VTN) resourceFromRequest(c claims, x Resource, old *Resource) (Resource, error) {
	switch {
	case c.Role == RoleBL && x.ObjectType != BlResourceRequest:
		return x, refuse(http.StatusBadRequest, "wrong_request_type", "business logic writes resources with objectType %s", BlResourceRequest)
	case c.Role == RoleVEN && x.ObjectType == BlResourceRequest:
		return x, refuse(http.StatusForbidden, "ven_grants_targets", "a VEN cannot send %s: only business logic sets a resource's targets", BlResourceRequest)
	}
	ven, ok := v.vens.get(x.VenID)
	if !ok {
		return x, refuse(http.StatusConflict, "unknown_ven", "venID %s: no such ven", x.VenID)
	}
	if c.Role == RoleVEN {
		if ven.ClientID != c.Client {
			return x, refuse(http.StatusForbidden, "not_owner", "ven %s belongs to another client", ven.ID)
		}
		x.Targets = nil
		if old != nil {
			x.Targets = old.Targets
		}
	}
	x.ClientID, x.ObjectType = ven.ClientID, TypeResource
	return x, nil
}

func (v *VTN) createResource(w http.ResponseWriter, r *http.Request, c claims) {
	b, err := readBody(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	x, err := DecodeResource(b)
	if err != nil {
		v.failErr(w, r, badBody(err))
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if x, err = v.resourceFromRequest(c, x, nil); err != nil {
		v.failErr(w, r, err)
		return
	}
	x.Meta = v.newMeta(TypeResource)
	if err := v.resources.put(x, ""); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeResource, opCreate, x, "", x.Targets)
	writeJSON(w, http.StatusCreated, x)
}

func (v *VTN) updateResource(w http.ResponseWriter, r *http.Request, c claims) {
	b, err := readBody(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	x, err := DecodeResource(b)
	if err != nil {
		v.failErr(w, r, badBody(err))
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := v.resources.get(r.PathValue("id"))
	switch {
	case !ok:
		v.failErr(w, r, notFound("resource", r.PathValue("id")))
		return
	case !ownsOrReadsAll(c, old.ClientID):
		v.fail(w, r, http.StatusForbidden, "not_owner", "resource "+old.ID+" belongs to another client")
		return
	}
	if x, err = v.resourceFromRequest(c, x, &old); err != nil {
		v.failErr(w, r, err)
		return
	}
	x.Meta = v.touch(old.Meta)
	if err := v.resources.put(x, ""); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeResource, opUpdate, x, "", x.Targets)
	writeJSON(w, http.StatusOK, x)
}

func (v *VTN) deleteResource(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	x, ok := v.resources.get(r.PathValue("id"))
	switch {
	case !ok:
		v.failErr(w, r, notFound("resource", r.PathValue("id")))
		return
	case !ownsOrReadsAll(c, x.ClientID):
		v.fail(w, r, http.StatusForbidden, "not_owner", "resource "+x.ID+" belongs to another client")
		return
	}
	if err := v.resources.delete(x.ID); err != nil {
		v.failErr(w, r, err)
		return
	}
	v.notifyLocked(TypeResource, opDelete, x, "", x.Targets)
	writeJSON(w, http.StatusOK, x)
}
