package devices

// Mapping is one rule of the generic adapter: where a value is in which
// topic's payload, what it is and in which unit. A user adds any other
// firmware with a list of mappings, without code (like evcc's templates).
type Mapping struct {
	// Topic is an MQTT topic filter (with + and # wildcards).
	Topic string `yaml:"topic"`
	// SerialLevel is the index (from 0) of the topic level that holds the
	// device's serial, usually a + of Topic; FixedSerial, when set, names
	// the device instead (a topic that carries no serial).
	SerialLevel int    `yaml:"serial_level"`
	FixedSerial string `yaml:"serial"`
	// JSONPath picks the value in a JSON payload ("ENERGY.Total",
	// "nrg[11]", "em:0.total_act_power"); empty means the payload is the
	// plain value.
	JSONPath string `yaml:"json_path"`
	// Field is what the value is: power, energy, energy_reverse, soc or
	// online.
	Field string `yaml:"field"`
	// Unit of the value: W, kW (power); mWh, Wh, kWh (energy); % (soc).
	Unit string `yaml:"unit"`
	// Scale multiplies the value before the unit applies (e.g. 0.01 for a
	// register in 10 mW steps); 0 means 1. Sign -1 flips it (a battery
	// that reports charging as positive).
	Scale float64 `yaml:"scale"`
	Sign  int     `yaml:"sign"`
	// Counter is an energy value's span: lifetime (default), daily or
	// session.
	Counter string `yaml:"counter"`
	// OnlineValue is the payload meaning online for an "online" field
	// (e.g. "true", "Online", "1"); anything else means offline.
	OnlineValue string `yaml:"online_value"`
}
