package parse

import (
	"math"
	"time"
)

// stamp is a timestamp as written in a header, before it is placed in time.
type stamp struct {
	year, month, day  int
	hour, minute, sec int
	nsec              int
	offset            int // seconds east of UTC; valid when hasZone
	hasYear, hasZone  bool
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(month, year int) int {
	switch month {
	case 2:
		if isLeap(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (Howard Hinnant's days_from_civil).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := m + 9
	if m > 2 {
		mp = m - 3
	}
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// yearOfDays is the inverse of daysFromCivil, year only.
func yearOfDays(z int64) int {
	z += 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	if mp >= 10 { // January or February belong to the next civil year
		y++
	}
	return int(y)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (s *stamp) unixWall() int64 {
	return daysFromCivil(s.year, s.month, s.day)*86400 +
		int64(s.hour*3600+s.minute*60+s.sec)
}

// minYear is the earliest year a timestamp may carry.
const minYear = 1970

// maxYearSteps bounds the search for a year when the stamp is Feb 29: leap
// years are at most eight years apart (across a century that is not one).
const maxYearSteps = 9

// instant places s in time. A stamp with an offset is exact. A stamp without
// one is read in the parser's Location. A stamp without a year gets the
// latest year that puts it no later than received + 24h: a line from Dec 31
// received on Jan 1 belongs to the previous year, and the day of slack lets
// senders whose clocks run ahead keep the current year. Feb 29 skips to the
// latest leap year that fits. ok is false only when no year fits, which
// cannot happen for a validated stamp.
func (p *Parser) instant(s *stamp, received time.Time) (time.Time, bool) {
	if s.hasZone {
		return time.Unix(s.unixWall()-int64(s.offset), int64(s.nsec)).UTC(), true
	}
	if p.utc {
		if s.hasYear {
			return time.Unix(s.unixWall(), int64(s.nsec)).UTC(), true
		}
		return p.inferUTC(s, received)
	}
	if s.hasYear {
		return p.date(s, s.year), true
	}
	ref := received.Add(24 * time.Hour)
	y := ref.In(p.loc).Year()
	for i := 0; i < maxYearSteps; i, y = i+1, y-1 {
		if s.month == 2 && s.day == 29 && !isLeap(y) {
			continue
		}
		if t := p.date(s, y); !t.After(ref) {
			return t, true
		}
	}
	return time.Time{}, false
}

func (p *Parser) date(s *stamp, year int) time.Time {
	return time.Date(year, time.Month(s.month), s.day, s.hour, s.minute, s.sec, s.nsec, p.loc).UTC()
}

// monthOf maps a case-insensitive English month abbreviation to 1-12, or 0.
func monthOf(a, b, c byte) int {
	switch uint32(a|0x20)<<16 | uint32(b|0x20)<<8 | uint32(c|0x20) {
	case 'j'<<16 | 'a'<<8 | 'n':
		return 1
	case 'f'<<16 | 'e'<<8 | 'b':
		return 2
	case 'm'<<16 | 'a'<<8 | 'r':
		return 3
	case 'a'<<16 | 'p'<<8 | 'r':
		return 4
	case 'm'<<16 | 'a'<<8 | 'y':
		return 5
	case 'j'<<16 | 'u'<<8 | 'n':
		return 6
	case 'j'<<16 | 'u'<<8 | 'l':
		return 7
	case 'a'<<16 | 'u'<<8 | 'g':
		return 8
	case 's'<<16 | 'e'<<8 | 'p':
		return 9
	case 'o'<<16 | 'c'<<8 | 't':
		return 10
	case 'n'<<16 | 'o'<<8 | 'v':
		return 11
	case 'd'<<16 | 'e'<<8 | 'c':
		return 12
	}
	return 0
}

func isDigit(c byte) bool { return c-'0' < 10 }

// num2 reads two digits at s[i:i+2].
func num2(s string, i int) (int, bool) {
	if i+2 > len(s) || !isDigit(s[i]) || !isDigit(s[i+1]) {
		return 0, false
	}
	return int(s[i]-'0')*10 + int(s[i+1]-'0'), true
}

// num4 reads four digits at s[i:i+4].
func num4(s string, i int) (int, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s[i : i+4]) {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// fraction reads the digits after a decimal point at s[i:], keeping
// nanosecond precision and ignoring further digits. It returns the
// nanoseconds, the number of digits read and the index after them.
func fraction(s string, i int) (nsec, digits, end int) {
	scale := 100000000
	for end = i; end < len(s) && isDigit(s[end]); end++ {
		if scale > 0 {
			nsec += int(s[end]-'0') * scale
			scale /= 10
		}
	}
	return nsec, end - i, end
}

// clock reads "hh:mm:ss" at s[i:] and range-checks it.
func clock(s string, i int, st *stamp) bool {
	if i+8 > len(s) || s[i+2] != ':' || s[i+5] != ':' {
		return false
	}
	h, ok1 := num2(s, i)
	m, ok2 := num2(s, i+3)
	sec, ok3 := num2(s, i+6)
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 59 {
		return false
	}
	st.hour, st.minute, st.sec = h, m, sec
	return true
}

// stampResult says what a timestamp parser found at the start of a string.
type stampResult int

const (
	stampNone stampResult = iota // nothing that looks like a timestamp
	stampOK
	stampBad // starts like a timestamp but is not a valid one
)

// bsdStamp reads an RFC 3164 timestamp "Mmm dd hh:mm:ss" at the start of s,
// with the variations real senders produce: any letter case in the month,
// the day padded with a space, a zero or nothing, a year before the time
// ("Mmm dd yyyy hh:mm:ss", Cisco) or after it ("Mmm dd hh:mm:ss yyyy"),
// fractional seconds, and a colon right after the stamp. It returns the
// bytes consumed; the byte after them is a space or the end of s.
func bsdStamp(s string, st *stamp) (int, stampResult) {
	if len(s) < 5 || s[3] != ' ' {
		return 0, stampNone
	}
	st.month = monthOf(s[0], s[1], s[2])
	if st.month == 0 {
		return 0, stampNone
	}
	i := 4
	switch {
	case s[i] == ' ' && i+1 < len(s) && isDigit(s[i+1]):
		st.day = int(s[i+1] - '0')
		i += 2
	case isDigit(s[i]) && i+1 < len(s) && isDigit(s[i+1]):
		st.day = int(s[i]-'0')*10 + int(s[i+1]-'0')
		i += 2
	case isDigit(s[i]):
		st.day = int(s[i] - '0')
		i++
	default:
		return 0, stampNone
	}
	if i >= len(s) || s[i] != ' ' {
		return 0, stampNone
	}
	i++
	// From here on the text has committed to being a timestamp.
	if y, ok := num4(s, i); ok && i+4 < len(s) && s[i+4] == ' ' {
		st.year, st.hasYear = y, true
		i += 5
	}
	if !clock(s, i, st) {
		return i, stampBad
	}
	i += 8
	if i < len(s) && s[i] == '.' {
		st.nsec, _, i = fraction(s, i+1)
	}
	if !st.hasYear && i+5 <= len(s) && s[i] == ' ' && (i+5 == len(s) || s[i+5] == ' ') {
		if y, ok := num4(s, i+1); ok {
			st.year, st.hasYear = y, true
			i += 5
		}
	}
	if i < len(s) && s[i] == ':' && (i+1 == len(s) || s[i+1] == ' ') {
		i++
	}
	if i < len(s) && s[i] != ' ' {
		return i, stampBad
	}
	if st.day < 1 || st.day > 31 {
		return i, stampBad
	}
	if st.hasYear {
		if st.day > daysIn(st.month, st.year) {
			return i, stampBad
		}
	} else if st.day > daysIn(st.month, 2000) { // a leap year: Feb 29 may fit another year
		return i, stampBad
	}
	return i, stampOK
}

// isoStamp reads an RFC 3339 timestamp at the start of s. Strict mode is
// RFC 5424's TIMESTAMP: upper-case 'T' and 'Z', a zone required, one to
// nine fraction digits (RFC 5424 allows six; longer fractions from real
// senders are kept to nanosecond precision). A missing zone, which RFC 5424
// forbids but some senders omit, is read in the parser's Location in
// both modes. Lenient mode, for timestamps
// inside RFC 3164 lines, also takes a space or 't' between date and time,
// lower-case 'z', "+hhmm" offsets and fractions of any length (truncated to nanoseconds).
func isoStamp(s string, strict bool, st *stamp) (int, stampResult) {
	if len(s) < 5 || s[4] != '-' {
		return 0, stampNone
	}
	y, ok := num4(s, 0)
	if !ok {
		return 0, stampNone
	}
	st.year, st.hasYear = y, true
	if y < minYear {
		// Year 1 would even be Go's zero time, which reads as "no
		// timestamp"; no log line comes from before the Unix epoch.
		return 0, stampBad
	}
	if len(s) < 19 || s[7] != '-' {
		return 4, stampBad
	}
	var ok1, ok2 bool
	st.month, ok1 = num2(s, 5)
	st.day, ok2 = num2(s, 8)
	if !ok1 || !ok2 || st.month < 1 || st.month > 12 || st.day < 1 || st.day > daysIn(st.month, y) {
		return 5, stampBad
	}
	switch s[10] {
	case 'T':
	case 't', ' ':
		if strict {
			return 10, stampBad
		}
	default:
		return 10, stampBad
	}
	if !clock(s, 11, st) {
		return 11, stampBad
	}
	i := 19
	if i < len(s) && s[i] == '.' {
		var digits int
		st.nsec, digits, i = fraction(s, i+1)
		if digits == 0 || (strict && digits > 9) {
			return i, stampBad
		}
	}
	if i < len(s) {
		switch c := s[i]; {
		case c == 'Z' || (c == 'z' && !strict):
			st.hasZone = true
			i++
		case c == '+' || c == '-':
			hh, okh := num2(s, i+1)
			var mm int
			okm := false
			switch {
			case i+3 < len(s) && s[i+3] == ':':
				mm, okm = num2(s, i+4)
				if okm {
					i += 6
				}
			case !strict:
				mm, okm = num2(s, i+3)
				if okm {
					i += 5
				}
			}
			if !okh || !okm || hh > 23 || mm > 59 {
				return i, stampBad
			}
			st.offset = hh*3600 + mm*60
			if c == '-' {
				st.offset = -st.offset
			}
			st.hasZone = true
		}
	}
	if i < len(s) && s[i] != ' ' {
		return i, stampBad
	}
	return i, stampOK
}

// inferUTC is instant for a year-less stamp read in UTC, the common case,
// kept cheap: the reference year comes from a one-entry cache, and the
// previous year is one year length away.
func (p *Parser) inferUTC(s *stamp, received time.Time) (time.Time, bool) {
	refSec := received.Unix() + 86400
	refNsec := received.Nanosecond()
	y := p.yearOfDay(floorDiv(refSec, 86400))
	notAfter := func(sec int64) bool {
		return sec < refSec || (sec == refSec && s.nsec <= refNsec)
	}
	if s.month == 2 && s.day == 29 {
		for i := 0; i < maxYearSteps; i, y = i+1, y-1 {
			if !isLeap(y) {
				continue
			}
			s.year = y
			if sec := s.unixWall(); notAfter(sec) {
				return time.Unix(sec, int64(s.nsec)).UTC(), true
			}
		}
		return time.Time{}, false
	}
	s.year = y
	sec := s.unixWall()
	if !notAfter(sec) {
		// The same date a year earlier; the year between them holds the
		// February of y when the date is after February, else that of y-1.
		leapYear := y
		if s.month <= 2 {
			leapYear = y - 1
		}
		sec -= 365 * 86400
		if isLeap(leapYear) {
			sec -= 86400
		}
		s.year = y - 1
	}
	return time.Unix(sec, int64(s.nsec)).UTC(), true
}

// yearOfDay returns the civil year of a day counted from 1970-01-01. Lines
// arrive in bursts with the same reference day, so the last answer is kept
// in one atomic word: the day in the high 32 bits, the year in the low 32.
func (p *Parser) yearOfDay(day int64) int {
	if day <= math.MinInt32 || day > math.MaxInt32 {
		return yearOfDays(day)
	}
	if c := p.yearCache.Load(); int32(c>>32) == int32(day) {
		return int(int32(uint32(c)))
	}
	y := yearOfDays(day)
	p.yearCache.Store(uint64(uint32(int32(day)))<<32 | uint64(uint32(int32(y))))
	return y
}
