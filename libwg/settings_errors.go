package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.zx2c4.com/wireguard/device"
)

// unparsedLine is wireguard-go's text for a line without "=".
var unparsedLine = regexp.MustCompile(`^failed to parse line ("(?:[^"\\]|\\.)*")$`)

// settingsError says in the user's terms why UAPI "set" text was refused.
// It never repeats a private or preshared key from settings: wireguard-go's
// own text may (a line without "=" is quoted whole).
func settingsError(err error, settings string) string {
	if section := confSection(settings); section != "" {
		return fmt.Sprintf("settings look like a .conf file (%s); pass UAPI text (key=value lines), "+
			"or use Interface.from_conf", section)
	}
	var ipcErr *device.IPCError
	if errors.As(err, &ipcErr) {
		err = ipcErr.Unwrap() // drop "IPC error <code>:", which tells a user nothing
	}
	text := err.Error()
	if m := unparsedLine.FindStringSubmatch(text); m != nil {
		line, _ := strconv.Unquote(m[1])
		return fmt.Sprintf("failed to parse line %q: settings are UAPI key=value lines", redact(line))
	}
	for _, key := range []string{"private_key", "preshared key"} {
		if strings.HasPrefix(text, "failed to set "+key) {
			return fmt.Sprintf("the %s is not a key: it must be 64 hex digits (32 bytes)",
				strings.ReplaceAll(key, " ", "_"))
		}
	}
	return redact(text)
}

// confSection is the first "[Section]" line of settings, or "".
func confSection(settings string) string {
	for _, line := range strings.Split(settings, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			return line
		}
	}
	return ""
}

var (
	// secretName is a private or preshared key's name: the text or line or
	// quoted string it starts, its separator and its value.
	secretName = regexp.MustCompile(`(?i)(^|[\n"'])?((?:private|preshared)[-_ ]?key)([=:"' \t]*)([^\t\n\v\f\r "',;:]*)`)
	// keyShaped is a run of base64 or hex at least as long as a key.
	keyShaped = regexp.MustCompile(`[A-Za-z0-9+/]{43,}=*`)
)

// redact hides private and preshared key values and key-shaped runs, by
// the rules of the comment block above wgcore/errors.py's redact (the one
// specification); both are held to the corpus testdata/redaction.txt.
// wireguard-go quotes settings lines in its errors and logs them whole.
func redact(text string) string {
	var out strings.Builder
	last := 0
	for _, m := range secretName.FindAllStringSubmatchIndex(text, -1) {
		startsLine := m[2] >= 0
		sep, value := text[m[6]:m[7]], text[m[8]:m[9]]
		hide := value != "" && (utf8.RuneCountInString(value) >= 16 || strings.ContainsAny(sep, "=:") || (startsLine && sep != ""))
		if hide {
			out.WriteString(text[last:m[8]])
			out.WriteString("(hidden)")
			last = m[9]
		}
	}
	out.WriteString(text[last:])
	return keyShaped.ReplaceAllString(out.String(), "(hidden)")
}
