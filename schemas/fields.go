package schemas

import (
	"net/netip"
	"sort"
	"strconv"
)

// FieldSpec describes one event field that rules may group on or that may
// name an entity. Get reads the field without reflection or allocation for
// string fields.
type FieldSpec struct {
	// Name is the dotted ECS name ("source.ip").
	Name string
	// EntityType is the entity kind the field identifies ("ip", "user",
	// "host"), EntityAddress when its values may be IP addresses or host
	// names (see EntityTypeOf), or empty when its values are not entities.
	EntityType string
	// Get returns the field's value, "" when the event lacks it.
	Get func(*Event) string
}

// EntityAddress marks a field whose values are IP addresses or domain
// names; EntityTypeOf tells them apart.
const EntityAddress = "address"

// EntityTypeOf returns the entity type of one value of the field: for an
// address field "ip" or "domain" by the value's form, else the field's
// EntityType, else the field's name.
func EntityTypeOf(f FieldSpec, value string) string {
	switch f.EntityType {
	case EntityAddress:
		if _, err := netip.ParseAddr(value); err == nil {
			return "ip"
		}
		return "domain"
	case "":
		return f.Name
	}
	return f.EntityType
}

var fieldSpecs = map[string]FieldSpec{}

func addField(name, entity string, get func(*Event) string) {
	fieldSpecs[name] = FieldSpec{Name: name, EntityType: entity, Get: get}
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func init() {
	addField("source.ip", "ip", func(e *Event) string { return e.Source.IP })
	addField("source.domain", "domain", func(e *Event) string { return e.Source.Domain })
	// source.address is ECS's either-or field: the remote end's IP address,
	// or its host name when the log gives a name (sshd with UseDNS, PAM's
	// rhost). Rules about "one source" group on it, so that sources logged
	// by name are not left out.
	addField("source.address", EntityAddress, func(e *Event) string {
		if e.Source.IP != "" {
			return e.Source.IP
		}
		return e.Source.Domain
	})
	addField("source.port", "", func(e *Event) string { return itoa(e.Source.Port) })
	addField("user.name", "user", func(e *Event) string { return e.User.Name })
	addField("user.target.name", "user", func(e *Event) string { return e.User.Target.Name })
	addField("host.name", "host", func(e *Event) string { return e.Host.Name })
	addField("process.name", "", func(e *Event) string { return e.Process.Name })
	addField("process.pid", "", func(e *Event) string { return itoa(e.Process.PID) })
	addField("process.command_line", "", func(e *Event) string { return e.Process.CommandLine })
	addField("event.action", "", func(e *Event) string { return e.Event.Action })
	addField("event.category", "", func(e *Event) string { return e.Event.Category })
	addField("event.outcome", "", func(e *Event) string { return e.Event.Outcome })
	addField("event.reason", "", func(e *Event) string { return e.Event.Reason })
	addField("event.dataset", "", func(e *Event) string { return e.Event.Dataset })
	addField("ssh.method", "", func(e *Event) string { return e.SSH.Method })
	addField("log.source.address", "ip", func(e *Event) string { return e.Log.Source.Address })
	addField("log.syslog.hostname", "host", func(e *Event) string { return e.Log.Syslog.Hostname })
	addField("log.syslog.appname", "", func(e *Event) string { return e.Log.Syslog.AppName })
	addField("log.syslog.procid", "", func(e *Event) string { return e.Log.Syslog.ProcID })
	addField("log.syslog.msgid", "", func(e *Event) string { return e.Log.Syslog.MsgID })

	addField("event.type", "", func(e *Event) string { return e.Event.Type })
	addField("event.code", "", func(e *Event) string { return e.Event.Code })
	addField("user.id", "", func(e *Event) string { return e.User.ID })
	addField("user.domain", "", func(e *Event) string { return e.User.Domain })
	addField("user.target.id", "", func(e *Event) string { return e.User.Target.ID })
	addField("user.target.domain", "", func(e *Event) string { return e.User.Target.Domain })
	addField("process.executable", "", func(e *Event) string { return e.Process.Executable })
	addField("destination.ip", "ip", func(e *Event) string { return e.Destination.IP })
	addField("destination.domain", "domain", func(e *Event) string { return e.Destination.Domain })
	addField("destination.address", EntityAddress, func(e *Event) string {
		if e.Destination.IP != "" {
			return e.Destination.IP
		}
		return e.Destination.Domain
	})
	addField("destination.port", "", func(e *Event) string { return itoa(e.Destination.Port) })
	addField("network.transport", "", func(e *Event) string { return e.Network.Transport })
	addField("network.protocol", "", func(e *Event) string { return e.Network.Protocol })
	addField("network.direction", "", func(e *Event) string { return e.Network.Direction })
	addField("observer.vendor", "", func(e *Event) string { return e.Observer.Vendor })
	addField("observer.product", "", func(e *Event) string { return e.Observer.Product })
	addField("observer.hostname", "host", func(e *Event) string { return e.Observer.Hostname })
	addField("observer.ingress_interface", "", func(e *Event) string { return e.Observer.IngressInterface })
	addField("rule.id", "", func(e *Event) string { return e.Rule.ID })
	addField("rule.name", "", func(e *Event) string { return e.Rule.Name })
	addField("threat.name", "", func(e *Event) string { return e.Threat.Name })
	addField("file.path", "", func(e *Event) string { return e.File.Path })
	addField("file.hash.sha256", "", func(e *Event) string { return e.File.Hash.SHA256 })
	addField("group.name", "", func(e *Event) string { return e.Group.Name })
	addField("winlog.event_id", "", func(e *Event) string { return itoa(e.Winlog.EventID) })
	addField("winlog.computer_name", "host", func(e *Event) string { return e.Winlog.Computer })
	addField("winlog.logon_type", "", func(e *Event) string { return itoa(e.Winlog.LogonType) })
	addField("tls.server.subject", "", func(e *Event) string { return e.TLS.Server.Subject })
	addField("tls.server.issuer", "", func(e *Event) string { return e.TLS.Server.Issuer })
	addField("vulnerability.id", "", func(e *Event) string { return e.Vulnerability.ID })
	addField("change.item", "", func(e *Event) string { return e.Change.Item })
}

// labelsPrefix starts the name of a field read from Event.Labels.
const labelsPrefix = "labels."

// LookupField returns the spec of a groupable field by its dotted name.
// "labels.NAME" names the label NAME of any event.
func LookupField(name string) (FieldSpec, bool) {
	f, ok := fieldSpecs[name]
	if !ok && len(name) > len(labelsPrefix) && name[:len(labelsPrefix)] == labelsPrefix {
		key := name[len(labelsPrefix):]
		return FieldSpec{Name: name, Get: func(e *Event) string { return e.Labels[key] }}, true
	}
	return f, ok
}

// FieldNames lists the groupable field names, sorted.
func FieldNames() []string {
	names := make([]string, 0, len(fieldSpecs))
	for n := range fieldSpecs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
