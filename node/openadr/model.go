package openadr

// The Go forms of the specification's objects. Every object carries the
// VTN-set metadata (id, createdDateTime, modificationDateTime, objectType);
// in a request body those four are accepted and ignored, because clients
// commonly PUT back the object they read. Nullable fields the
// specification defaults to null are omitted when empty.

// Object types (the specification's objectTypes).
const (
	TypeProgram      = "PROGRAM"
	TypeEvent        = "EVENT"
	TypeReport       = "REPORT"
	TypeSubscription = "SUBSCRIPTION"
	TypeVen          = "VEN"
	TypeResource     = "RESOURCE"
)

// Meta is the specification's objectMetadata.
type Meta struct {
	ID                   string `json:"id,omitempty"`
	CreatedDateTime      string `json:"createdDateTime,omitempty"`
	ModificationDateTime string `json:"modificationDateTime,omitempty"`
	ObjectType           string `json:"objectType,omitempty"`
}

func (m *Meta) meta() *Meta { return m }

// IntervalPeriod is the specification's intervalPeriod: start (RFC 3339;
// 0001-01-01 means now), duration and randomizeStart (ISO 8601).
type IntervalPeriod struct {
	Start          *string `json:"start,omitempty"`
	Duration       *string `json:"duration,omitempty"`
	RandomizeStart *string `json:"randomizeStart,omitempty"`
}

// ValuesMap is a type and its values (numbers, strings, booleans or
// points).
type ValuesMap struct {
	Type   string `json:"type"`
	Values []any  `json:"values"`
}

// Interval is one interval of an event or a report.
type Interval struct {
	ID             *int32          `json:"id"`
	IntervalPeriod *IntervalPeriod `json:"intervalPeriod,omitempty"`
	Payloads       []ValuesMap     `json:"payloads"`
}

// PayloadDescriptor is an eventPayloadDescriptor or a
// reportPayloadDescriptor, told apart by ObjectType.
type PayloadDescriptor struct {
	ObjectType  string   `json:"objectType"`
	PayloadType string   `json:"payloadType"`
	Units       *string  `json:"units,omitempty"`
	Currency    *string  `json:"currency,omitempty"`
	ReadingType *string  `json:"readingType,omitempty"`
	Accuracy    *float64 `json:"accuracy,omitempty"`
	Confidence  *int32   `json:"confidence,omitempty"`
}

// ReportDescriptor asks VENs for a report.
type ReportDescriptor struct {
	PayloadType     string   `json:"payloadType"`
	ReadingType     *string  `json:"readingType,omitempty"`
	Units           *string  `json:"units,omitempty"`
	Targets         []string `json:"targets,omitempty"`
	Aggregate       *bool    `json:"aggregate,omitempty"`
	StartInterval   *int32   `json:"startInterval,omitempty"`
	NumIntervals    *int32   `json:"numIntervals,omitempty"`
	Historical      *bool    `json:"historical,omitempty"`
	Frequency       *int32   `json:"frequency,omitempty"`
	Repeat          *int32   `json:"repeat,omitempty"`
	ReportIntervals *string  `json:"reportIntervals,omitempty"`
}

// ProgramDescription is a link to a human or machine readable program
// description.
type ProgramDescription struct {
	URL string `json:"URL"`
}

// Program is a demand-response program.
type Program struct {
	Meta
	ProgramName         string               `json:"programName"`
	IntervalPeriod      *IntervalPeriod      `json:"intervalPeriod,omitempty"`
	ProgramDescriptions []ProgramDescription `json:"programDescriptions,omitempty"`
	PayloadDescriptors  []PayloadDescriptor  `json:"payloadDescriptors,omitempty"`
	Attributes          []ValuesMap          `json:"attributes,omitempty"`
	Targets             []string             `json:"targets,omitempty"`
}

// Event is a demand-response event of a program.
type Event struct {
	Meta
	ProgramID          string              `json:"programID"`
	EventName          *string             `json:"eventName,omitempty"`
	Duration           *string             `json:"duration,omitempty"`
	Priority           *int64              `json:"priority,omitempty"`
	Targets            []string            `json:"targets,omitempty"`
	ReportDescriptors  []ReportDescriptor  `json:"reportDescriptors,omitempty"`
	PayloadDescriptors []PayloadDescriptor `json:"payloadDescriptors,omitempty"`
	IntervalPeriod     *IntervalPeriod     `json:"intervalPeriod,omitempty"`
	Intervals          []Interval          `json:"intervals,omitempty"`
}

// ReportResource is one resource's data in a report.
type ReportResource struct {
	ResourceName   string          `json:"resourceName"`
	IntervalPeriod *IntervalPeriod `json:"intervalPeriod,omitempty"`
	Intervals      []Interval      `json:"intervals"`
}

// Report is a VEN's (or the VTN's own) report on an event.
type Report struct {
	Meta
	// ProgramID is the program of the report's event. The specification
	// lets GET /reports filter by it but leaves it out of the report
	// object, so it is kept beside the object, never sent.
	ProgramID          string              `json:"-"`
	ClientID           string              `json:"clientID,omitempty"`
	EventID            string              `json:"eventID"`
	ClientName         string              `json:"clientName"`
	ReportName         *string             `json:"reportName,omitempty"`
	PayloadDescriptors []PayloadDescriptor `json:"payloadDescriptors,omitempty"`
	Resources          []ReportResource    `json:"resources"`
}

// ObjectOperation is what a subscription listens to and where it is told.
type ObjectOperation struct {
	Objects     []string `json:"objects"`
	Operations  []string `json:"operations"`
	CallbackURL string   `json:"callbackUrl"`
	BearerToken *string  `json:"bearerToken,omitempty"`
}

// Subscription asks for webhook notifications.
type Subscription struct {
	Meta
	ClientID         string            `json:"clientID,omitempty"`
	ClientName       string            `json:"clientName"`
	ProgramID        string            `json:"programID,omitempty"`
	ObjectOperations []ObjectOperation `json:"objectOperations"`
	Targets          []string          `json:"targets,omitempty"`
}

// Ven is a VEN as the VTN knows it. In a request ObjectType is
// BL_VEN_REQUEST or VEN_VEN_REQUEST; the VTN answers with VEN.
type Ven struct {
	Meta
	ClientID   string      `json:"clientID,omitempty"`
	Targets    []string    `json:"targets,omitempty"`
	VenName    string      `json:"venName"`
	Attributes []ValuesMap `json:"attributes,omitempty"`
}

// Resource is a VEN's resource. In a request ObjectType is
// BL_RESOURCE_REQUEST or VEN_RESOURCE_REQUEST; the VTN answers with
// RESOURCE.
type Resource struct {
	Meta
	ClientID     string      `json:"clientID,omitempty"`
	Targets      []string    `json:"targets,omitempty"`
	ResourceName string      `json:"resourceName"`
	VenID        string      `json:"venID"`
	Attributes   []ValuesMap `json:"attributes,omitempty"`
}

// Notification is the body POSTed to a subscriber's callbackUrl.
type Notification struct {
	ObjectType string   `json:"objectType"`
	Operation  string   `json:"operation"`
	Object     any      `json:"object"`
	Targets    []string `json:"targets,omitempty"`
}

// Problem is an RFC 7807 problem, the specification's error body.
type Problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}
