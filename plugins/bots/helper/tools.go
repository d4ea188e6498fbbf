package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// answer is an error whose text is said to the person as it is: a whole
// sentence, capital letter and full stop included.
type answer string

func (a answer) Error() string { return string(a) }

func answerf(format string, args ...any) error { return answer(fmt.Sprintf(format, args...)) }

// --- dice -----------------------------------------------------------------

var diceRE = regexp.MustCompile(`^(\d*)d(\d+)(?:([+-])(\d+))?$`)

// roll rolls dice written as NdM+K ("2d6", "d20", "3d6+2"; "" is 1d6).
func roll(spec string, r *rand.Rand) (string, error) {
	spec = strings.ToLower(strings.ReplaceAll(spec, " ", ""))
	if spec == "" {
		spec = "1d6"
	}
	m := diceRE.FindStringSubmatch(spec)
	if m == nil {
		return "", answer("Write dice like 2d6, d20 or 3d6+2.")
	}
	n := 1
	if m[1] != "" {
		n, _ = strconv.Atoi(m[1])
	}
	sides, _ := strconv.Atoi(m[2])
	if n < 1 || n > 100 || sides < 2 || sides > 1000 {
		return "", answer("From 1 to 100 dice of 2 to 1000 sides, please.")
	}
	mod := 0
	if m[4] != "" {
		mod, _ = strconv.Atoi(m[4])
		if mod > 10000 {
			return "", answer("That modifier is a bit much.")
		}
		if m[3] == "-" {
			mod = -mod
		}
	}
	total := mod
	rolls := make([]string, n)
	for i := range n {
		v := r.IntN(sides) + 1
		total += v
		rolls[i] = strconv.Itoa(v)
	}
	if n == 1 && mod == 0 {
		return fmt.Sprintf("🎲 %s: %d", spec, total), nil
	}
	modText := ""
	if mod > 0 {
		modText = fmt.Sprintf(" + %d", mod)
	} else if mod < 0 {
		modText = fmt.Sprintf(" - %d", -mod)
	}
	return fmt.Sprintf("🎲 %s: %s%s = %d", spec, strings.Join(rolls, " + "), modText, total), nil
}

// --- time zones -------------------------------------------------------------

// cities maps the places people ask about to their time zones.
var cities = map[string]string{
	"london": "Europe/London", "paris": "Europe/Paris", "berlin": "Europe/Berlin", "madrid": "Europe/Madrid",
	"rome": "Europe/Rome", "amsterdam": "Europe/Amsterdam", "brussels": "Europe/Brussels", "lisbon": "Europe/Lisbon",
	"dublin": "Europe/Dublin", "zurich": "Europe/Zurich", "vienna": "Europe/Vienna", "stockholm": "Europe/Stockholm",
	"oslo": "Europe/Oslo", "copenhagen": "Europe/Copenhagen", "helsinki": "Europe/Helsinki", "warsaw": "Europe/Warsaw",
	"prague": "Europe/Prague", "athens": "Europe/Athens", "istanbul": "Europe/Istanbul", "moscow": "Europe/Moscow",
	"kyiv": "Europe/Kyiv", "new york": "America/New_York", "nyc": "America/New_York", "boston": "America/New_York",
	"washington": "America/New_York", "toronto": "America/Toronto", "montreal": "America/Toronto", "chicago": "America/Chicago",
	"denver": "America/Denver", "los angeles": "America/Los_Angeles", "la": "America/Los_Angeles",
	"san francisco": "America/Los_Angeles", "seattle": "America/Los_Angeles", "vancouver": "America/Vancouver",
	"mexico city": "America/Mexico_City", "sao paulo": "America/Sao_Paulo", "são paulo": "America/Sao_Paulo",
	"rio": "America/Sao_Paulo", "buenos aires": "America/Argentina/Buenos_Aires", "lima": "America/Lima",
	"bogota": "America/Bogota", "santiago": "America/Santiago", "honolulu": "Pacific/Honolulu", "anchorage": "America/Anchorage",
	"tokyo": "Asia/Tokyo", "seoul": "Asia/Seoul", "beijing": "Asia/Shanghai", "shanghai": "Asia/Shanghai",
	"hong kong": "Asia/Hong_Kong", "singapore": "Asia/Singapore", "taipei": "Asia/Taipei", "bangkok": "Asia/Bangkok",
	"jakarta": "Asia/Jakarta", "manila": "Asia/Manila", "delhi": "Asia/Kolkata", "new delhi": "Asia/Kolkata",
	"mumbai": "Asia/Kolkata", "bangalore": "Asia/Kolkata", "karachi": "Asia/Karachi", "dubai": "Asia/Dubai",
	"tehran": "Asia/Tehran", "jerusalem": "Asia/Jerusalem", "tel aviv": "Asia/Jerusalem", "riyadh": "Asia/Riyadh",
	"cairo": "Africa/Cairo", "lagos": "Africa/Lagos", "nairobi": "Africa/Nairobi", "johannesburg": "Africa/Johannesburg",
	"cape town": "Africa/Johannesburg", "casablanca": "Africa/Casablanca", "sydney": "Australia/Sydney",
	"melbourne": "Australia/Melbourne", "brisbane": "Australia/Brisbane", "perth": "Australia/Perth",
	"adelaide": "Australia/Adelaide", "auckland": "Pacific/Auckland", "wellington": "Pacific/Auckland",
	"reykjavik": "Atlantic/Reykjavik", "utc": "UTC", "gmt": "UTC",
}

// zone finds the time zone of a city or an IANA name ("Europe/Paris").
func zone(place string) (*time.Location, string, error) {
	p := strings.ToLower(strings.TrimSpace(strings.TrimRight(place, "?!. ")))
	p = strings.TrimPrefix(p, "the ")
	if name, ok := cities[p]; ok {
		loc, err := time.LoadLocation(name)
		return loc, titleCase(p), err
	}
	if strings.Contains(place, "/") {
		if loc, err := time.LoadLocation(strings.TrimSpace(place)); err == nil {
			return loc, strings.TrimSpace(place), nil
		}
	}
	return nil, "", answerf("I don't know where %q is. Try a big city (time in Tokyo) or a zone name (time in Europe/Paris).", strings.TrimSpace(place))
}

func titleCase(s string) string {
	if len(s) <= 3 {
		return strings.ToUpper(s) // UTC, NYC, LA
	}
	words := strings.Fields(s)
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// timeIn says what time it is at a place.
func timeIn(place string, now time.Time) (string, error) {
	if strings.TrimSpace(place) == "" {
		place = "utc"
	}
	loc, name, err := zone(place)
	if err != nil {
		return "", err
	}
	t := now.In(loc)
	abbr, off := t.Zone()
	offset := fmt.Sprintf("UTC%+d", off/3600)
	if off%3600 != 0 {
		offset = fmt.Sprintf("UTC%+d:%02d", off/3600, abs(off%3600)/60)
	}
	if off == 0 {
		offset = "UTC"
	}
	zoneText := offset
	if abbr != "" && abbr[0] != '+' && abbr[0] != '-' && abbr != "UTC" {
		zoneText = abbr + ", " + offset
	}
	return fmt.Sprintf("🕒 In %s it is %s on %s (%s).", name, t.Format("15:04"), t.Format("Monday 2 January"), zoneText), nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// --- units ----------------------------------------------------------------

type unit struct {
	name   string  // how to write it in answers
	dim    string  // what it measures
	factor float64 // in the dimension's base unit
	offset float64 // added after scaling (temperatures)
}

var units = map[string]unit{}

func addUnit(u unit, aliases ...string) {
	for _, a := range aliases {
		units[a] = u
	}
}

func init() {
	// Length, in metres.
	addUnit(unit{"mm", "length", 0.001, 0}, "mm", "millimetre", "millimetres", "millimeter", "millimeters")
	addUnit(unit{"cm", "length", 0.01, 0}, "cm", "centimetre", "centimetres", "centimeter", "centimeters")
	addUnit(unit{"m", "length", 1, 0}, "m", "metre", "metres", "meter", "meters")
	addUnit(unit{"km", "length", 1000, 0}, "km", "kilometre", "kilometres", "kilometer", "kilometers")
	addUnit(unit{"in", "length", 0.0254, 0}, "in", "inch", "inches", `"`)
	addUnit(unit{"ft", "length", 0.3048, 0}, "ft", "foot", "feet", "'")
	addUnit(unit{"yd", "length", 0.9144, 0}, "yd", "yard", "yards")
	addUnit(unit{"mi", "length", 1609.344, 0}, "mi", "mile", "miles")
	addUnit(unit{"nmi", "length", 1852, 0}, "nmi", "nautical mile", "nautical miles")
	// Mass, in kilograms.
	addUnit(unit{"g", "mass", 0.001, 0}, "g", "gram", "grams")
	addUnit(unit{"kg", "mass", 1, 0}, "kg", "kilo", "kilos", "kilogram", "kilograms")
	addUnit(unit{"t", "mass", 1000, 0}, "t", "tonne", "tonnes")
	addUnit(unit{"oz", "mass", 0.028349523125, 0}, "oz", "ounce", "ounces")
	addUnit(unit{"lb", "mass", 0.45359237, 0}, "lb", "lbs", "pound", "pounds")
	addUnit(unit{"st", "mass", 6.35029318, 0}, "st", "stone", "stones")
	// Volume, in litres.
	addUnit(unit{"ml", "volume", 0.001, 0}, "ml", "millilitre", "millilitres", "milliliter", "milliliters")
	addUnit(unit{"l", "volume", 1, 0}, "l", "litre", "litres", "liter", "liters")
	addUnit(unit{"US gal", "volume", 3.785411784, 0}, "gal", "gallon", "gallons")
	addUnit(unit{"US pt", "volume", 0.473176473, 0}, "pt", "pint", "pints")
	addUnit(unit{"US cup", "volume", 0.2365882365, 0}, "cup", "cups")
	addUnit(unit{"US fl oz", "volume", 0.0295735295625, 0}, "floz", "fl oz", "fluid ounce", "fluid ounces")
	// Temperature, in kelvin: K = value*factor + offset.
	addUnit(unit{"°C", "temperature", 1, 273.15}, "c", "°c", "celsius", "centigrade")
	addUnit(unit{"°F", "temperature", 5.0 / 9, 273.15 - 32*5.0/9}, "f", "°f", "fahrenheit")
	addUnit(unit{"K", "temperature", 1, 0}, "k", "kelvin")
	// Speed, in metres a second.
	addUnit(unit{"km/h", "speed", 1 / 3.6, 0}, "km/h", "kmh", "kph")
	addUnit(unit{"mph", "speed", 0.44704, 0}, "mph")
	addUnit(unit{"m/s", "speed", 1, 0}, "m/s", "mps")
	addUnit(unit{"kn", "speed", 1852.0 / 3600, 0}, "kn", "knot", "knots")
	// Data, in bytes.
	addUnit(unit{"B", "data", 1, 0}, "b", "byte", "bytes")
	addUnit(unit{"KB", "data", 1000, 0}, "kb", "kilobyte", "kilobytes")
	addUnit(unit{"MB", "data", 1e6, 0}, "mb", "megabyte", "megabytes")
	addUnit(unit{"GB", "data", 1e9, 0}, "gb", "gigabyte", "gigabytes")
	addUnit(unit{"KiB", "data", 1024, 0}, "kib")
	addUnit(unit{"MiB", "data", 1 << 20, 0}, "mib")
	addUnit(unit{"GiB", "data", 1 << 30, 0}, "gib")
}

var convertRE = regexp.MustCompile(`^(?i)(?:convert\s+)?(-?\d+(?:[.,]\d+)?)\s*(.+?)\s+(?:to|in|into)\s+(.+?)[?.!]*$`)

// isConversion reports whether text reads like "10 km to mi".
func isConversion(text string) bool {
	m := convertRE.FindStringSubmatch(strings.TrimSpace(text))
	if m == nil {
		return false
	}
	_, a := units[strings.ToLower(m[2])]
	_, b := units[strings.ToLower(m[3])]
	return a && b
}

// convert answers "10 km to mi".
func convert(text string) (string, error) {
	m := convertRE.FindStringSubmatch(strings.TrimSpace(text))
	if m == nil {
		return "", answer("Write it like: convert 10 km to miles")
	}
	v, err := strconv.ParseFloat(strings.Replace(m[1], ",", ".", 1), 64)
	if err != nil {
		return "", answer("That number puzzles me.")
	}
	from, ok := units[strings.ToLower(m[2])]
	if !ok {
		return "", answerf("I don't know the unit %q.", m[2])
	}
	to, ok := units[strings.ToLower(m[3])]
	if !ok {
		return "", answerf("I don't know the unit %q.", m[3])
	}
	if from.dim != to.dim {
		return "", answerf("%s is %s and %s is %s: they don't convert.", from.name, from.dim, to.name, to.dim)
	}
	base := v*from.factor + from.offset
	out := (base - to.offset) / to.factor
	return fmt.Sprintf("%s %s = %s %s", number(v), from.name, number(out), to.name), nil
}

// number writes a float with at most 4 decimals, no trailing zeros.
func number(f float64) string {
	if math.Abs(f) >= 1e12 || (f != 0 && math.Abs(f) < 1e-4) {
		return strconv.FormatFloat(f, 'g', 4, 64)
	}
	s := strconv.FormatFloat(f, 'f', 4, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

// --- durations --------------------------------------------------------------

var durationRE = regexp.MustCompile(`(?i)(\d+)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)\b`)

var unitThenDigitRE = regexp.MustCompile(`([a-zA-Z])(\d)`)

// parseDuration reads "10 minutes", "1h30m", "2 days and 3 hours".
func parseDuration(s string) (time.Duration, error) {
	s = unitThenDigitRE.ReplaceAllString(s, "$1 $2") // "1h30m" → "1h 30m"
	ms := durationRE.FindAllStringSubmatch(s, -1)
	if ms == nil {
		return 0, answer("Say when, like: in 10 minutes, in 2 hours, in 1 day.")
	}
	var d time.Duration
	for _, m := range ms {
		n, _ := strconv.Atoi(m[1])
		var u time.Duration
		switch strings.ToLower(m[2])[0] {
		case 's':
			u = time.Second
		case 'm':
			u = time.Minute
		case 'h':
			u = time.Hour
		case 'd':
			u = 24 * time.Hour
		case 'w':
			u = 7 * 24 * time.Hour
		}
		d += time.Duration(n) * u
	}
	if d <= 0 || d > 366*24*time.Hour {
		return 0, answer("From a second to a year from now, please.")
	}
	return d, nil
}

// humanDuration writes a duration the way people say it.
func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	parts := []string{}
	add := func(n int64, word string) {
		if n == 1 {
			parts = append(parts, "1 "+word)
		} else if n > 1 {
			parts = append(parts, fmt.Sprintf("%d %ss", n, word))
		}
	}
	add(int64(d/(24*time.Hour)), "day")
	add(int64(d%(24*time.Hour)/time.Hour), "hour")
	add(int64(d%time.Hour/time.Minute), "minute")
	add(int64(d%time.Minute/time.Second), "second")
	if len(parts) == 0 {
		return "a moment"
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
