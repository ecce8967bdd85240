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

// The handlers below share four steps, each of which answers the request
// itself when it fails and then reports false: decodeRequest (read and
// decode the body), find (the path's object, 404, or 403 from its deny
// rule), listPage (skip, limit and a filter) and saveLocked / removeLocked
// (write through to the store and notify the subscribers).

// decodeRequest reads the body and decodes it with decode.
func decodeRequest[T any](v *VTN, w http.ResponseWriter, r *http.Request, decode func([]byte) (T, error)) (T, bool) {
	b, err := readBody(r)
	if err == nil {
		var x T
		if x, err = decode(b); err == nil {
			return x, true
		}
		err = badBody(err)
	}
	v.failErr(w, r, err)
	var zero T
	return zero, false
}

// find looks up the path's id in col: 404 if absent, deny's error (nil
// deny: none) if the caller may not touch it. Caller holds v.mu.
func find[T any, P object[T]](v *VTN, w http.ResponseWriter, r *http.Request, col *collection[T, P], deny func(T) error) (T, bool) {
	x, ok := col.get(r.PathValue("id"))
	if !ok {
		v.failErr(w, r, notFound(col.kind, r.PathValue("id")))
		return x, false
	}
	if deny != nil {
		if err := deny(x); err != nil {
			v.failErr(w, r, err)
			return x, false
		}
	}
	return x, true
}

// listPage answers with the page of col's objects that keep accepts.
func listPage[T any, P object[T]](v *VTN, w http.ResponseWriter, r *http.Request, col *collection[T, P], keep func(T, string) bool) {
	skip, limit, err := page(r)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	v.mu.Lock()
	out := col.list(keep)
	v.mu.Unlock()
	writeJSON(w, http.StatusOK, paginate(out, skip, limit))
}

// getOne answers with the path's object.
func getOne[T any, P object[T]](v *VTN, w http.ResponseWriter, r *http.Request, col *collection[T, P], deny func(T) error) {
	v.mu.Lock()
	x, ok := find(v, w, r, col, deny)
	v.mu.Unlock()
	if ok {
		writeJSON(w, http.StatusOK, x)
	}
}

// saveLocked writes x to col and notifies the subscribers of op. Caller
// holds v.mu.
func saveLocked[T any, P object[T]](v *VTN, w http.ResponseWriter, r *http.Request, col *collection[T, P], x T, programID, op string, targets []string) bool {
	if err := col.put(x, programID); err != nil {
		v.failErr(w, r, err)
		return false
	}
	v.notifyLocked(col.typ, op, x, programID, targets)
	return true
}

// removeLocked deletes x from col and notifies the subscribers. Caller
// holds v.mu.
func removeLocked[T any, P object[T]](v *VTN, w http.ResponseWriter, r *http.Request, col *collection[T, P], x T, programID string, targets []string) bool {
	if err := col.delete(P(&x).meta().ID); err != nil {
		v.failErr(w, r, err)
		return false
	}
	v.notifyLocked(col.typ, opDelete, x, programID, targets)
	return true
}

// othersFor refuses (403) an object of another client, unless c reads
// all.
func othersFor(c claims, kind string) func(id, client string) error {
	return func(id, client string) error {
		if ownsOrReadsAll(c, client) {
			return nil
		}
		return refuse(http.StatusForbidden, "not_owner", "%s %s belongs to another client", kind, id)
	}
}

func notTargeted(kind, id string) error {
	return refuse(http.StatusForbidden, "not_targeted", "%s %s is not targeted at this client", kind, id)
}

// ---- programs

func (v *VTN) listPrograms(w http.ResponseWriter, r *http.Request, c claims) {
	want := queryTargets(r)
	listPage(v, w, r, v.programs, func(p Program, _ string) bool {
		return v.seesTargeted(c, p.Targets) && matchTargets(want, p.Targets)
	})
}

func (v *VTN) getProgram(w http.ResponseWriter, r *http.Request, c claims) {
	getOne(v, w, r, v.programs, func(p Program) error {
		if !v.seesTargeted(c, p.Targets) {
			return notTargeted("program", p.ID)
		}
		return nil
	})
}

// programNameTaken: the specification leaves a second program of the
// same name to the implementation; this VTN refuses it (409) so
// programName identifies a program.
func (v *VTN) programNameTaken(name, except string) error {
	if len(v.programs.list(func(p Program, _ string) bool { return p.ProgramName == name && p.ID != except })) > 0 {
		return refuse(http.StatusConflict, "duplicate_name", "programName %q is taken", name)
	}
	return nil
}

func (v *VTN) createProgram(w http.ResponseWriter, r *http.Request, _ claims) {
	p, ok := decodeRequest(v, w, r, DecodeProgram)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.programNameTaken(p.ProgramName, ""); err != nil {
		v.failErr(w, r, err)
		return
	}
	p.Meta = v.newMeta(TypeProgram)
	if saveLocked(v, w, r, v.programs, p, p.ID, opCreate, p.Targets) {
		writeJSON(w, http.StatusCreated, p)
	}
}

func (v *VTN) updateProgram(w http.ResponseWriter, r *http.Request, _ claims) {
	p, ok := decodeRequest(v, w, r, DecodeProgram)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := find(v, w, r, v.programs, func(old Program) error { return v.programNameTaken(p.ProgramName, old.ID) })
	if !ok {
		return
	}
	p.Meta = v.touch(old.Meta)
	if saveLocked(v, w, r, v.programs, p, p.ID, opUpdate, p.Targets) {
		writeJSON(w, http.StatusOK, p)
	}
}

// deleteProgram deletes the program and its events (an event cannot
// outlive its program).
func (v *VTN) deleteProgram(w http.ResponseWriter, r *http.Request, _ claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	p, ok := find(v, w, r, v.programs, nil)
	if !ok {
		return
	}
	for _, e := range v.events.list(func(e Event, _ string) bool { return e.ProgramID == p.ID }) {
		if !removeLocked(v, w, r, v.events, e, e.ProgramID, e.Targets) {
			return
		}
	}
	if removeLocked(v, w, r, v.programs, p, p.ID, p.Targets) {
		writeJSON(w, http.StatusOK, p)
	}
}

// ---- events

func (v *VTN) listEvents(w http.ResponseWriter, r *http.Request, c claims) {
	q := r.URL.Query()
	want, program := queryTargets(r), q.Get("programID")
	active := q.Get("active")
	if active != "" && active != "true" && active != "false" {
		v.failErr(w, r, refuse(http.StatusBadRequest, "invalid_query", "active %q: want true or false", active))
		return
	}
	now := v.clock.Now()
	listPage(v, w, r, v.events, func(e Event, _ string) bool {
		return (program == "" || e.ProgramID == program) && v.seesEvent(c, e) &&
			matchTargets(want, e.Targets) && (active != "true" || !eventOver(e, now))
	})
}

// seenEvent refuses (403) an event not targeted at c.
func (v *VTN) seenEvent(c claims) func(Event) error {
	return func(e Event) error {
		if !v.seesEvent(c, e) {
			return notTargeted("event", e.ID)
		}
		return nil
	}
}

func (v *VTN) getEvent(w http.ResponseWriter, r *http.Request, c claims) {
	getOne(v, w, r, v.events, v.seenEvent(c))
}

// programMissing: an event names a program that does not exist. The
// specification's 409 is "a violation of a foreign key constraint".
func programMissing(id string) error {
	return refuse(http.StatusConflict, "unknown_program", "programID %s: no such program", id)
}

func (v *VTN) createEvent(w http.ResponseWriter, r *http.Request, _ claims) {
	e, ok := decodeRequest(v, w, r, DecodeEvent)
	if !ok {
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
	if !saveLocked(v, w, r, v.events, e, e.ProgramID, opCreate, e.Targets) {
		return
	}
	v.toMarketLocked(r.Context(), p, e)
	writeJSON(w, http.StatusCreated, e)
}

// updateEvent stores the new event. Requests already published for it
// stay as they are: the market has no withdrawal yet.
func (v *VTN) updateEvent(w http.ResponseWriter, r *http.Request, _ claims) {
	e, ok := decodeRequest(v, w, r, DecodeEvent)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := find(v, w, r, v.events, nil)
	if !ok {
		return
	}
	if _, ok := v.programs.get(e.ProgramID); !ok {
		v.failErr(w, r, programMissing(e.ProgramID))
		return
	}
	e.Meta = v.touch(old.Meta)
	if saveLocked(v, w, r, v.events, e, e.ProgramID, opUpdate, e.Targets) {
		writeJSON(w, http.StatusOK, e)
	}
}

func (v *VTN) deleteEvent(w http.ResponseWriter, r *http.Request, _ claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e, ok := find(v, w, r, v.events, nil); ok && removeLocked(v, w, r, v.events, e, e.ProgramID, e.Targets) {
		writeJSON(w, http.StatusOK, e)
	}
}

// ---- reports

func (v *VTN) listReports(w http.ResponseWriter, r *http.Request, c claims) {
	q := r.URL.Query()
	program, event, name := q.Get("programID"), q.Get("eventID"), q.Get("clientName")
	listPage(v, w, r, v.reports, func(x Report, pid string) bool {
		return ownsOrReadsAll(c, x.ClientID) && (program == "" || pid == program) &&
			(event == "" || x.EventID == event) && (name == "" || x.ClientName == name)
	})
}

func (v *VTN) getReport(w http.ResponseWriter, r *http.Request, c claims) {
	others := othersFor(c, "report")
	getOne(v, w, r, v.reports, func(x Report) error { return others(x.ID, x.ClientID) })
}

// reportWriter refuses (403) a report of another client: unlike reading,
// reading all does not let one change another's report.
func reportWriter(c claims) func(Report) error {
	return func(x Report) error {
		if x.ClientID != c.Client {
			return refuse(http.StatusForbidden, "not_owner", "report %s belongs to another client", x.ID)
		}
		return nil
	}
}

// reportEventLocked is the event a report names (409 if none).
func (v *VTN) reportEventLocked(x Report) (Event, error) {
	e, ok := v.events.get(x.EventID)
	if !ok {
		return e, refuse(http.StatusConflict, "unknown_event", "eventID %s: no such event", x.EventID)
	}
	return e, nil
}

func (v *VTN) createReport(w http.ResponseWriter, r *http.Request, c claims) {
	x, ok := decodeRequest(v, w, r, DecodeReport)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	e, err := v.reportEventLocked(x)
	if err == nil {
		err = v.seenEvent(c)(e)
	}
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	x.Meta, x.ClientID = v.newMeta(TypeReport), c.Client
	if saveLocked(v, w, r, v.reports, x, e.ProgramID, opCreate, nil) {
		writeJSON(w, http.StatusCreated, x)
	}
}

func (v *VTN) updateReport(w http.ResponseWriter, r *http.Request, c claims) {
	x, ok := decodeRequest(v, w, r, DecodeReport)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := find(v, w, r, v.reports, reportWriter(c))
	if !ok {
		return
	}
	e, err := v.reportEventLocked(x)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	x.Meta, x.ClientID = v.touch(old.Meta), old.ClientID
	if saveLocked(v, w, r, v.reports, x, e.ProgramID, opUpdate, nil) {
		writeJSON(w, http.StatusOK, x)
	}
}

func (v *VTN) deleteReport(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	x, ok := find(v, w, r, v.reports, reportWriter(c))
	if ok && removeLocked(v, w, r, v.reports, x, v.reports.programOf(x.ID), nil) {
		writeJSON(w, http.StatusOK, x)
	}
}

// ---- subscriptions

func (v *VTN) listSubscriptions(w http.ResponseWriter, r *http.Request, c claims) {
	q := r.URL.Query()
	program, name, objects := q.Get("programID"), q.Get("clientName"), q["objects"]
	listPage(v, w, r, v.subscriptions, func(s Subscription, _ string) bool {
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
}

func subscriptionOwner(c claims) func(Subscription) error {
	others := othersFor(c, "subscription")
	return func(s Subscription) error { return others(s.ID, s.ClientID) }
}

func (v *VTN) getSubscription(w http.ResponseWriter, r *http.Request, c claims) {
	getOne(v, w, r, v.subscriptions, subscriptionOwner(c))
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
	s, ok := decodeRequest(v, w, r, DecodeSubscription)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.checkSubscription(s); err != nil {
		v.failErr(w, r, err)
		return
	}
	s.Meta, s.ClientID = v.newMeta(TypeSubscription), c.Client
	if saveLocked(v, w, r, v.subscriptions, s, s.ProgramID, opCreate, s.Targets) {
		writeJSON(w, http.StatusCreated, s)
	}
}

func (v *VTN) updateSubscription(w http.ResponseWriter, r *http.Request, c claims) {
	s, ok := decodeRequest(v, w, r, DecodeSubscription)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := find(v, w, r, v.subscriptions, subscriptionOwner(c))
	if !ok {
		return
	}
	if err := v.checkSubscription(s); err != nil {
		v.failErr(w, r, err)
		return
	}
	s.Meta, s.ClientID = v.touch(old.Meta), old.ClientID
	if saveLocked(v, w, r, v.subscriptions, s, s.ProgramID, opUpdate, s.Targets) {
		writeJSON(w, http.StatusOK, s)
	}
}

func (v *VTN) deleteSubscription(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s, ok := find(v, w, r, v.subscriptions, subscriptionOwner(c))
	if ok && removeLocked(v, w, r, v.subscriptions, s, s.ProgramID, s.Targets) {
		writeJSON(w, http.StatusOK, s)
	}
}

// ---- vens

func (v *VTN) listVens(w http.ResponseWriter, r *http.Request, c claims) {
	name, want := r.URL.Query().Get("venName"), queryTargets(r)
	listPage(v, w, r, v.vens, func(x Ven, _ string) bool {
		return ownsOrReadsAll(c, x.ClientID) && (name == "" || x.VenName == name) && matchTargets(want, x.Targets)
	})
}

func venOwner(c claims) func(Ven) error {
	others := othersFor(c, "ven")
	return func(x Ven) error { return others(x.ID, x.ClientID) }
}

func (v *VTN) getVen(w http.ResponseWriter, r *http.Request, c claims) {
	getOne(v, w, r, v.vens, venOwner(c))
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
	x, ok := decodeRequest(v, w, r, DecodeVen)
	if !ok {
		return
	}
	x, err := venFromRequest(c, x, nil)
	if err != nil {
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
	if saveLocked(v, w, r, v.vens, x, "", opCreate, x.Targets) {
		writeJSON(w, http.StatusCreated, x)
	}
}

func (v *VTN) updateVen(w http.ResponseWriter, r *http.Request, c claims) {
	x, ok := decodeRequest(v, w, r, DecodeVen)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := find(v, w, r, v.vens, venOwner(c))
	if !ok {
		return
	}
	x, err := venFromRequest(c, x, &old)
	if err == nil && v.venNameTaken(x.VenName, old.ID) {
		err = refuse(http.StatusConflict, "duplicate_name", "venName %q is taken", x.VenName)
	}
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	x.Meta = v.touch(old.Meta)
	if saveLocked(v, w, r, v.vens, x, "", opUpdate, x.Targets) {
		writeJSON(w, http.StatusOK, x)
	}
}

// deleteVen deletes the ven and its resources.
func (v *VTN) deleteVen(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	x, ok := find(v, w, r, v.vens, venOwner(c))
	if !ok {
		return
	}
	for _, res := range v.resources.list(func(res Resource, _ string) bool { return res.VenID == x.ID }) {
		if !removeLocked(v, w, r, v.resources, res, "", res.Targets) {
			return
		}
	}
	if removeLocked(v, w, r, v.vens, x, "", x.Targets) {
		writeJSON(w, http.StatusOK, x)
	}
}

// ---- resources

func (v *VTN) listResources(w http.ResponseWriter, r *http.Request, c claims) {
	q := r.URL.Query()
	name, ven, want := q.Get("resourceName"), q.Get("venID"), queryTargets(r)
	listPage(v, w, r, v.resources, func(x Resource, _ string) bool {
		return ownsOrReadsAll(c, x.ClientID) && (name == "" || x.ResourceName == name) &&
			(ven == "" || x.VenID == ven) && matchTargets(want, x.Targets)
	})
}

func resourceOwner(c claims) func(Resource) error {
	others := othersFor(c, "resource")
	return func(x Resource) error { return others(x.ID, x.ClientID) }
}

func (v *VTN) getResource(w http.ResponseWriter, r *http.Request, c claims) {
	getOne(v, w, r, v.resources, resourceOwner(c))
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
	x, ok := decodeRequest(v, w, r, DecodeResource)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	x, err := v.resourceFromRequest(c, x, nil)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	x.Meta = v.newMeta(TypeResource)
	if saveLocked(v, w, r, v.resources, x, "", opCreate, x.Targets) {
		writeJSON(w, http.StatusCreated, x)
	}
}

func (v *VTN) updateResource(w http.ResponseWriter, r *http.Request, c claims) {
	x, ok := decodeRequest(v, w, r, DecodeResource)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, ok := find(v, w, r, v.resources, resourceOwner(c))
	if !ok {
		return
	}
	x, err := v.resourceFromRequest(c, x, &old)
	if err != nil {
		v.failErr(w, r, err)
		return
	}
	x.Meta = v.touch(old.Meta)
	if saveLocked(v, w, r, v.resources, x, "", opUpdate, x.Targets) {
		writeJSON(w, http.StatusOK, x)
	}
}

func (v *VTN) deleteResource(w http.ResponseWriter, r *http.Request, c claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	x, ok := find(v, w, r, v.resources, resourceOwner(c))
	if ok && removeLocked(v, w, r, v.resources, x, "", x.Targets) {
		writeJSON(w, http.StatusOK, x)
	}
}
