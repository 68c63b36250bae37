package parse

import (
	"encoding/xml"
	"io"
	"strings"
)

// Sections of an <Event> element (the schema
// http://schemas.microsoft.com/win/2004/08/events/event) that the windows
// source reads.
const (
	wefOther = iota
	wefSystem
	wefEventData
	wefUserData
	wefRendering
)

// winXMLMaxDepth bounds the element names kept to check that end tags
// match; deeper elements are not checked (the reader reads nothing
// below depth 4).
const winXMLMaxDepth = 64

// winReadXML reads one <Event> element, as Windows Event Forwarding
// forwarders and `wevtutil qe /f:RenderedXml` write it (one event per
// line), into r: the System header, the EventData values (or the
// children of UserData's element) and the rendered message. Element
// names are matched whatever their namespace; what follows the root
// element is ignored.
//
// The keyword names and the message under RenderingInfo are in the
// language of the machine that rendered them; only the message is kept
// (as the event's message), and the meaning comes from the event ID and
// the keywords mask.
//
// Values are substrings of msg unless the XML escapes them (entities,
// CR LF), which encoding/xml decodes into a copy.
//
// Known shortcoming: encoding/xml allocates for every element name and
// attribute (about 300 allocations for a 2 KB event) and reads about ten
// times slower than the JSON layouts; only a hand-written scanner of this
// small XML subset would avoid it. RawToken is used, and end tags are
// matched here, to spare the namespace work Token does.
func winReadXML(msg string, r *winRec) *Error {
	d := xml.NewDecoder(strings.NewReader(msg))
	var (
		depth    int
		section  int
		field    string // the element whose text is being read
		dataName string // the Name of the current <Data>
		dataIdx  int
		text     string
		reading  bool
		stack    = make([]string, 0, 8)
	)
	for {
		off := int(d.InputOffset())
		tok, err := d.RawToken()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return &Error{Reason: ReasonBadWindowsXML, Detail: "cannot read the event XML: " + err.Error()}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			name := t.Name.Local
			if len(stack) < winXMLMaxDepth {
				stack = append(stack, name)
			}
			reading = false
			switch depth {
			case 1:
				if name != "Event" {
					return &Error{Reason: ReasonBadWindowsXML, Detail: "the root element is <" + name + ">, not <Event>"}
				}
			case 2:
				switch name {
				case "System":
					section = wefSystem
				case "EventData":
					section = wefEventData
				case "UserData":
					section = wefUserData
				case "RenderingInfo":
					section = wefRendering
				default:
					section = wefOther
				}
			case 3:
				field = name
				raw := msg[off:int(d.InputOffset())]
				switch section {
				case wefSystem:
					switch name {
					case "Provider":
						r.provider = strings.TrimSpace(winXMLAttr(t, "Name", raw))
					case "TimeCreated":
						r.time = strings.TrimSpace(winXMLAttr(t, "SystemTime", raw))
					}
					reading = true
				case wefEventData:
					if name == "Data" {
						dataName = winXMLAttr(t, "Name", raw)
						reading = true
					}
				case wefRendering:
					reading = name == "Message"
				}
			case 4:
				if section == wefUserData {
					field = name
					reading = true
				}
			}
			text = ""
		case xml.CharData:
			if reading {
				v := winXMLText(msg, off, int(d.InputOffset()), t)
				if text == "" {
					text = v
				} else {
					text += v // text split by a comment or a CDATA section
				}
			}
		case xml.EndElement:
			if depth == 0 {
				return &Error{Reason: ReasonBadWindowsXML, Detail: "cannot read the event XML: </" + t.Name.Local + "> closes no element"}
			}
			if depth <= len(stack) && stack[depth-1] != t.Name.Local {
				return &Error{Reason: ReasonBadWindowsXML, Detail: "cannot read the event XML: <" + stack[depth-1] + "> is closed by </" + t.Name.Local + ">"}
			}
			if depth <= len(stack) {
				stack = stack[:depth-1]
			}
			if reading {
				winXMLStore(r, section, depth, field, dataName, &dataIdx, winXMLValue(text))
				reading = false
				dataName = ""
			}
			depth--
			if depth == 0 {
				if r.shapeErr == "" && r.code == "" {
					r.shapeErr = "the event has no System/EventID"
				}
				if r.shapeErr != "" {
					return &Error{Reason: ReasonBadWindowsXML, Detail: r.shapeErr}
				}
				return nil
			}
		}
	}
}

// winXMLStore keeps the text of one element the reader wanted.
func winXMLStore(r *winRec, section, depth int, field, dataName string, dataIdx *int, v string) {
	switch {
	case section == wefSystem && depth == 3:
		switch field {
		case "EventID":
			r.setID(v)
		case "Level":
			r.level = v
		case "Keywords":
			r.setKeywords(v)
		case "EventRecordID":
			r.record = v
		case "Channel":
			r.channel = v
		case "Computer":
			r.computer = v
		}
	case section == wefEventData && depth == 3:
		name := dataName
		if name == "" {
			// Events of classic providers carry unnamed values.
			if *dataIdx >= len(winParamNames) {
				break
			}
			name = winParamNames[*dataIdx]
		}
		*dataIdx++
		r.put(name, v)
	case section == wefUserData && depth == 4:
		r.put(field, v)
	case section == wefRendering && depth == 3:
		r.message = v
	}
}

// winXMLText returns a text token as a substring of msg when the XML
// wrote it as is, else encoding/xml's decoded copy.
func winXMLText(msg string, start, end int, cd xml.CharData) string {
	if start >= 0 && start <= end && end <= len(msg) {
		if raw := msg[start:end]; raw == string(cd) {
			return raw
		}
	}
	return string(cd)
}

// winXMLAttr returns an attribute's value, as a substring of the start
// tag's text raw when it is written there as is.
func winXMLAttr(t xml.StartElement, name, raw string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			if i := strings.Index(raw, a.Value); i >= 0 {
				return raw[i : i+len(a.Value)]
			}
			return a.Value
		}
	}
	return ""
}

// winXMLValue drops the indentation that pretty-printed XML puts around a
// value (and that an empty value holds alone).
func winXMLValue(v string) string {
	return strings.Trim(v, " \t\r\n")
}
